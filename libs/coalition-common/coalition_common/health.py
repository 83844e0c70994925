"""The health answer every service gives over RPC and HTTP."""
import json

from nameko.rpc import rpc
from nameko.web.handlers import http
from pymongo.errors import PyMongoError


def service_health(service_name, database):
    try:
        database.command("ping")
        database_state = "ok"
    except PyMongoError as exc:
        database_state = f"unavailable: {type(exc).__name__}"
    return {
        "service": service_name,
        "status": "ok" if database_state == "ok" else "degraded",
        "database": database_state,
    }


class HealthEntrypoints:
    """Mixed into every service: `health` over RPC for the gateway's /readyz; over HTTP,
    GET /healthz (the database answers: readiness) and GET /livez (the process answers:
    liveness, so a database outage takes pods out of rotation without restarting them all).
    Needs the service's `database` dependency."""

    @rpc
    def health(self):
        return service_health(self.name, self.database)

    @http("GET", "/healthz")
    def healthz(self, request):
        answer = service_health(self.name, self.database)
        return (200 if answer["status"] == "ok" else 503), json.dumps(answer)

    @http("GET", "/livez")
    def livez(self, request):
        return 200, json.dumps({"service": self.name, "status": "alive"})
