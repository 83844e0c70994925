"""Load on the gateway's read path: `make bench` runs it headless for a bounded time against
127.0.0.1 only. Each simulated staff member asks who they are, as every page load would.

Users spread over the demo keys and pace themselves so no key passes the default rate limit
(600 a minute per gateway process): this measures latency under load, not the limiter."""
import itertools
import json
import pathlib

from locust import HttpUser, between, task

CREDENTIALS = json.loads((pathlib.Path(__file__).resolve().parent.parent / "var" / "demo-credentials.json").read_text())
KEYS = itertools.cycle(c["key"] for c in CREDENTIALS)


class Staff(HttpUser):
    wait_time = between(0.4, 0.8)

    def on_start(self):
        self.client.headers["Authorization"] = "Bearer " + next(KEYS)

    @task(5)
    def me(self):
        self.client.get("/api/v1/me", name="/api/v1/me")

    @task(1)
    def readyz(self):
        self.client.get("/readyz", name="/readyz")
