"""Liveness and readiness."""
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify
from kombu import Connection

from gateway.rpc import ServiceUnavailable

SERVICES = ("registry", "mentor_bank", "matching", "reporting")
READY_TIMEOUT = 2.0

bp = Blueprint("health", __name__)
_probe_threads = ThreadPoolExecutor(max_workers=len(SERVICES) + 1, thread_name_prefix="readyz")


@bp.get("/healthz")
def healthz():
    """The process is alive; says nothing about its dependencies."""
    return jsonify(status="ok")


def _broker_state(amqp_uri):
    try:
        with Connection(amqp_uri, connect_timeout=READY_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, timeout=READY_TIMEOUT)
        return "ok"
    except Exception as exc:  # any failure means "not ready"; say which kind
        return f"unavailable: {type(exc).__name__}"


def _service_state(rpc, service):
    try:
        answer = rpc.call(service, "health", timeout=READY_TIMEOUT)
    except ServiceUnavailable as exc:
        return exc.reason
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok" if answer.get("status") == "ok" else f"degraded: database {answer.get('database')}"


@bp.get("/readyz")
def readyz():
    """Ready when the broker is reachable and every service answers a health RPC within 2 s."""
    rpc = current_app.extensions["rpc"]
    broker = _probe_threads.submit(_broker_state, rpc.amqp_uri)
    futures = {name: _probe_threads.submit(_service_state, rpc, name) for name in SERVICES}
    checks = {"broker": broker.result()}
    checks.update({name: future.result() for name, future in futures.items()})
    failed = sorted(name for name, state in checks.items() if state != "ok")
    body = {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}
    return jsonify(body), (200 if not failed else 503)
