"""Load on the gateway's read path: `make bench` runs it headless for a bounded time against
127.0.0.1 only. Each simulated coordinator asks who they are, as every page load would."""
import json
import pathlib

from locust import HttpUser, between, task

CREDENTIALS = json.loads((pathlib.Path(__file__).resolve().parent.parent / "var" / "demo-credentials.json").read_text())


class Coordinator(HttpUser):
    wait_time = between(0.05, 0.2)

    def on_start(self):
        self.client.headers["Authorization"] = "Bearer " + CREDENTIALS[2]["key"]

    @task(5)
    def me(self):
        self.client.get("/api/v1/me", name="/api/v1/me")

    @task(1)
    def readyz(self):
        self.client.get("/readyz", name="/readyz")
