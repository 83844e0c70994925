"""A partner's webhook gets its own partner's events, signed, and nothing of anyone else's."""
import hashlib
import hmac
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coalition_common.identity import operator

from harness import wait_for
from profiles import mentee_profile
from profiles import mentor_profile

pytestmark = pytest.mark.e2e

MENTEE = mentee_profile(given_name="Hook", family_name="Test", email="hook.test@mail.example", target_occupation="2142", region="CA-ON")


class Receiver:
    """An HTTPS endpoint on loopback, with a certificate from the test's own CA."""

    def __init__(self, tls, status=200):
        self.received = []
        self.status = status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"headers": dict(self.headers), "body": body.decode()})
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.server_cert.configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}/coalition-events"

    def close(self):
        self.server.shutdown()


def demo_client(api, demo, partner, role):
    key = next(c["key"] for c in demo if c["partner"] == partner and role in c["roles"])
    return api(key)


def verify(secret, headers, body):
    parts = dict(item.split("=", 1) for item in headers["X-Coalition-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(time.time() - int(parts["t"])) < 300


def enrol_new_mentee(platform, coordinator):
    """A mentee taken in and enrolled in a new programme of the coordinator's partner: one mentee.enrolled."""
    program = platform.rpc("registry", "create_program", {"name": "Webhook cohort", "start_date": "2027-01-11"}, identity=coordinator)
    mentee = platform.rpc("matching", "create_mentee", MENTEE, identity=coordinator)
    return platform.rpc("matching", "enrol_mentee", mentee["id"], program["id"], identity=coordinator)


def test_signed_delivery_of_own_events_and_nothing_else(platform, api, demo, webhook_tls):
    receiver = Receiver(webhook_tls)
    try:
        ngo_admin = demo_client(api, demo, "ngo", "partner_admin")
        ngo_id = ngo_admin.get("/api/v1/me").json()["partner"]["id"]
        employer_id = demo_client(api, demo, "employer", "recruiter").get("/api/v1/me").json()["partner"]["id"]
        created = ngo_admin.post(f"/api/v1/partners/{ngo_id}/webhooks", json={"url": receiver.url, "event_types": ["mentee.enrolled"]})
        assert created.status_code == 201
        webhook = created.json()
        assert webhook["secret"].startswith("whsec_")
        assert "secret" not in ngo_admin.get(f"/api/v1/webhooks/{webhook['id']}").json()
        stored = platform.database("registry").webhooks.find_one({"_id": webhook["id"]})
        assert "secret" not in stored and webhook["secret"] not in repr(stored)  # encrypted at rest

        other = enrol_new_mentee(platform, operator("webhook-test", ("coordinator",), employer_id))
        own = enrol_new_mentee(platform, operator("webhook-test", ("coordinator",), ngo_id))

        wait_for(lambda: receiver.received, timeout=30, message="a webhook delivery")
        time.sleep(3)  # anything else that was going to arrive has had its chance
        assert len(receiver.received) == 1
        delivery = receiver.received[0]
        assert verify(webhook["secret"], delivery["headers"], delivery["body"])
        assert delivery["headers"]["X-Coalition-Event"] == "mentee.enrolled"
        event = json.loads(delivery["body"])
        assert event["type"] == "mentee.enrolled"
        assert event["data"] == {"mentee_id": own["id"], "partner_id": ngo_id, "program_id": own["program_id"]}
        assert other["id"] not in delivery["body"]
        for personal in ("Hook", "hook.test@mail.example", "2142", "CA-ON"):
            assert personal not in delivery["body"]

        deliveries = ngo_admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json()["items"]
        assert [(d["status"], d["last_status_code"]) for d in deliveries] == [("delivered", 200)]
    finally:
        receiver.close()


def test_failed_deliveries_are_retried_with_backoff(platform, api, demo, webhook_tls):
    receiver = Receiver(webhook_tls, status=503)
    try:
        ngo_admin = demo_client(api, demo, "ngo", "partner_admin")
        ngo_id = ngo_admin.get("/api/v1/me").json()["partner"]["id"]
        webhook = ngo_admin.post(f"/api/v1/partners/{ngo_id}/webhooks", json={"url": receiver.url, "event_types": ["mentor.registered"]}).json()
        platform.rpc("mentor_bank", "register_mentor", identity=operator("webhook-test", ("recruiter",), ngo_id), payload=mentor_profile(given_name="Retry", family_name="Mentor", email="retry@mentor.example"))
        wait_for(lambda: receiver.received, timeout=30, message="the first attempt")
        receiver.status = 200
        # The first retry waits 5 s (then 10, 20, … up to an hour).
        wait_for(lambda: len(receiver.received) >= 2, timeout=30, message="the retry")
        deliveries = ngo_admin.get(f"/api/v1/webhooks/{webhook['id']}/deliveries").json()["items"]
        assert deliveries[0]["status"] == "delivered" and deliveries[0]["attempts"] == 2
        assert receiver.received[0]["headers"]["X-Coalition-Delivery"] == receiver.received[1]["headers"]["X-Coalition-Delivery"]
    finally:
        receiver.close()


def test_webhooks_must_be_https(api, demo):
    ngo_admin = demo_client(api, demo, "ngo", "partner_admin")
    ngo_id = ngo_admin.get("/api/v1/me").json()["partner"]["id"]
    response = ngo_admin.post(f"/api/v1/partners/{ngo_id}/webhooks", json={"url": "http://127.0.0.1:9/plain", "event_types": ["mentee.enrolled"]})
    assert response.status_code == 422 and "url" in response.json()["errors"]


def test_a_target_that_is_not_allowed_gets_one_answer_whatever_the_reason(api, demo):
    ngo_admin = demo_client(api, demo, "ngo", "partner_admin")
    ngo_id = ngo_admin.get("/api/v1/me").json()["partner"]["id"]
    # The platform under test allows loopback (its receivers listen there), so a name that does not
    # resolve stands in for every refusal: the answer must not say which rule refused.
    response = ngo_admin.post(f"/api/v1/partners/{ngo_id}/webhooks", json={"url": "https://nowhere.invalid/hook", "event_types": ["mentee.enrolled"]})
    assert response.status_code == 422
    assert response.json()["errors"] == {"url": ["The target is not allowed."]}
