"""Webhook deliveries against a real HTTPS endpoint and the real database, by calling the
registry's delivery functions directly: signed bodies arrive at the address that was checked,
a slow or trickling endpoint holds up no one else, and signing secrets are stored encrypted."""
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from cryptography.fernet import Fernet
from pymongo import ASCENDING

from coalition_common.ids import new_id, utcnow
from registry import webhooks

pytestmark = pytest.mark.service

NAME = "hooks.partner.example"
PARTNER = "p-webhook-test"
PARTNER_ADMIN = {"staff_id": "s-webhook-test", "partner_id": PARTNER, "hub_id": None, "roles": ["partner_admin"],
                 "key_id": "k-webhook-test", "charter_accepted": False, "expires_at": None}
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def database(mongo):
    name = f"t{uuid.uuid4().hex[:8]}_registry"
    database = mongo[name]
    database.partners.insert_one({"_id": PARTNER, "name": "Webhook Test Partner", "status": "active", "hub_id": None})
    database.webhook_deliveries.create_index([("key", ASCENDING)], unique=True)  # as registry.indexes does
    yield database
    mongo.drop_database(name)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    ca_path = tmp_path_factory.mktemp("webhook-tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    # Valid for the names only: a client that checked the certificate against the IP would fail.
    return ca, ca.issue_cert(NAME, "slow.partner.example", "fast.partner.example"), ca_path


@pytest.fixture
def key(monkeypatch, tls):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("WEBHOOK_SECRET_KEY", key)
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "true")  # the receiver listens on loopback, on a random port
    monkeypatch.setenv("WEBHOOK_CA_BUNDLE", str(tls[2]))
    return key


class Resolver:
    """Made-up names answered from a script: `answer(name, first, later)` answers `first` to the
    next lookup of `name` and `later` to every one after it. Every lookup is recorded."""

    def __init__(self):
        self.scripts = {}
        self.lookups = []

    def answer(self, name, first, later=None):
        self.scripts[name] = [first, later or first]

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):
        self.lookups.append(host)
        if host in self.scripts:
            script = self.scripts[host]
            address = script.pop(0) if len(script) > 1 else script[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]
        return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)


@pytest.fixture
def resolver(monkeypatch):
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver.getaddrinfo)
    return resolver


class Receiver:
    """An HTTPS endpoint on 127.0.0.1 with a certificate for the test's made-up names.

    /slow holds its answer until a request to /fast has arrived (or 5 s have passed);
    /trickle answers one header line every 0.2 s for 8 s; anything else answers `status`."""

    def __init__(self, tls):
        self.received = []
        self.server_names = []
        self.fast_arrived = threading.Event()
        self.slow_saw_fast = None
        self.trickle_cut = None
        self.trickle_done = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body.decode()})
                if self.path == "/trickle":
                    return self.trickle()
                if self.path == "/slow":
                    receiver.slow_saw_fast = receiver.fast_arrived.wait(timeout=5)
                if self.path == "/fast":
                    receiver.fast_arrived.set()
                self.send_response(302 if self.path == "/moved" else 200)
                if self.path == "/moved":
                    self.send_header("Location", f"https://{NAME}:{receiver.port}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def trickle(self):
                try:
                    self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                    for _ in range(40):
                        time.sleep(0.2)
                        self.wfile.write(b"X-Trickle: a\r\n")
                    self.wfile.write(b"Content-Length: 0\r\n\r\n")
                    receiver.trickle_cut = False
                except OSError:
                    receiver.trickle_cut = True
                finally:
                    receiver.trickle_done.set()
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls[1].configure_cert(context)
        context.sni_callback = lambda sock, server_name, ctx: self.server_names.append(server_name)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path, name=NAME):
        return f"https://{name}:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(tls):
    receiver = Receiver(tls)
    yield receiver
    receiver.close()


def register(database, url, event_type="mentee.enrolled"):
    return webhooks.register_webhook(database, PARTNER_ADMIN, PARTNER, {"url": url, "event_types": [event_type]})


def enrol(database, event_type="mentee.enrolled"):
    event = {"event_id": new_id(), "partner_id": PARTNER, "mentee_id": new_id(), "given_name": "Hook"}
    assert webhooks.queue_deliveries(database, event_type, event) >= 1
    return event


def verify(secret, headers, body):
    parts = dict(item.split("=", 1) for item in headers["X-Coalition-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.{body}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_a_signed_delivery_arrives_at_the_address_that_was_checked(database, key, resolver, receiver):
    resolver.answer(NAME, "127.0.0.1")
    webhook = register(database, receiver.url("/coalition-events"))
    event = enrol(database)
    # The delivery's one lookup answers the receiver; any lookup after it answers an address where
    # nothing listens, so a client that resolved the name again would not get through.
    resolver.answer(NAME, "127.0.0.1", later="127.0.0.2")
    resolver.lookups.clear()

    assert webhooks.deliver_due(database) == 1

    assert len(receiver.received) == 1
    delivery = receiver.received[0]
    assert resolver.lookups.count(NAME) == 1
    assert delivery["path"] == "/coalition-events"
    assert delivery["headers"]["Host"] == f"{NAME}:{receiver.port}"
    assert receiver.server_names == [NAME]  # TLS asked for the name (and the certificate holds only names)
    assert verify(webhook["secret"], delivery["headers"], delivery["body"])
    assert json.loads(delivery["body"]) == {"id": event["event_id"], "type": "mentee.enrolled",
                                            "data": {"mentee_id": event["mentee_id"], "partner_id": PARTNER}}
    stored = database.webhook_deliveries.find_one({"webhook_id": webhook["id"]})
    assert (stored["status"], stored["last_status_code"], stored["attempts"]) == ("delivered", 200, 1)


def test_a_name_that_now_resolves_inside_is_not_sent_to(database, key, resolver, monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE")
    resolver.answer(NAME, "8.8.8.8")
    webhook = register(database, f"https://{NAME}/hook")
    enrol(database)
    resolver.answer(NAME, "127.0.0.1")
    connections = []
    monkeypatch.setattr(webhooks, "send", lambda *args: connections.append(args) or 200)

    assert webhooks.deliver_due(database) == 1

    assert connections == []
    stored = database.webhook_deliveries.find_one({"webhook_id": webhook["id"]})
    assert (stored["status"], stored["last_status_code"], stored["last_error"]) == ("pending", None, "The target is not allowed.")


def test_a_slow_endpoint_does_not_hold_up_the_delivery_queued_after_it(database, key, resolver, receiver):
    resolver.answer("slow.partner.example", "127.0.0.1")
    resolver.answer("fast.partner.example", "127.0.0.1")
    slow = register(database, receiver.url("/slow", "slow.partner.example"), "mentee.enrolled")
    fast = register(database, receiver.url("/fast", "fast.partner.example"), "mentor.registered")
    enrol(database, "mentee.enrolled")  # the slow one's delivery is queued first
    enrol(database, "mentor.registered")

    assert webhooks.deliver_due(database) == 2

    assert receiver.slow_saw_fast is True, "the fast endpoint was only called after the slow one answered"
    statuses = {d["webhook_id"]: d["status"] for d in database.webhook_deliveries.find({})}
    assert statuses == {slow["id"]: "delivered", fast["id"]: "delivered"}


def test_an_endpoint_that_trickles_its_answer_is_cut_at_the_time_limit(database, key, resolver, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "ATTEMPT_SECONDS", 1)
    resolver.answer(NAME, "127.0.0.1")
    webhook = register(database, receiver.url("/trickle"))
    enrol(database)

    assert webhooks.deliver_due(database) == 1

    assert receiver.trickle_done.wait(timeout=30)
    assert receiver.trickle_cut is True
    stored = database.webhook_deliveries.find_one({"webhook_id": webhook["id"]})
    assert (stored["status"], stored["attempts"], stored["last_status_code"]) == ("pending", 1, None)
    assert stored["last_error"] == "TimeoutError"


def test_redirects_are_not_followed(database, key, resolver, receiver):
    resolver.answer(NAME, "127.0.0.1")
    webhook = register(database, receiver.url("/moved"))
    enrol(database)

    assert webhooks.deliver_due(database) == 1

    assert [r["path"] for r in receiver.received] == ["/moved"]
    stored = database.webhook_deliveries.find_one({"webhook_id": webhook["id"]})
    assert (stored["status"], stored["last_status_code"]) == ("pending", 302)


def test_the_signing_secret_is_stored_encrypted(database, key, resolver, receiver):
    resolver.answer(NAME, "127.0.0.1")
    webhook = register(database, receiver.url("/hook"))
    stored = database.webhooks.find_one({"_id": webhook["id"]})
    assert "secret" not in stored
    assert webhook["secret"] not in repr(stored)
    assert Fernet(key.encode()).decrypt(stored["secret_encrypted"].encode()).decode() == webhook["secret"]
    assert "secret" not in webhooks.get_webhook(database, PARTNER_ADMIN, webhook["id"])


def test_a_secret_stored_in_clear_before_encryption_still_signs_and_is_then_encrypted(database, key, resolver, receiver):
    resolver.answer(NAME, "127.0.0.1")
    old = {"_id": new_id(), "partner_id": PARTNER, "url": receiver.url("/old"), "event_types": ["mentee.enrolled"],
           "status": "active", "created_at": utcnow(), "secret": "whsec_from_before"}
    database.webhooks.insert_one(old)
    enrol(database)

    assert webhooks.deliver_due(database) == 1

    assert verify("whsec_from_before", receiver.received[0]["headers"], receiver.received[0]["body"])
    stored = database.webhooks.find_one({"_id": old["_id"]})
    assert "secret" not in stored
    assert Fernet(key.encode()).decrypt(stored["secret_encrypted"].encode()) == b"whsec_from_before"


def test_the_start_time_migration_encrypts_secrets_stored_in_clear(database, key):
    plain = [{"_id": new_id(), "partner_id": PARTNER, "url": "https://hooks.partner.example/", "event_types": ["mentee.enrolled"],
              "status": status, "created_at": utcnow(), "secret": f"whsec_{status}"} for status in ("active", "deleted")]
    database.webhooks.insert_many(plain)

    assert webhooks.encrypt_plain_secrets(database) == 2
    assert webhooks.encrypt_plain_secrets(database) == 0

    for document in database.webhooks.find({}):
        assert "secret" not in document and "whsec_" not in repr(document)


def test_the_registry_refuses_to_start_without_the_key_its_secrets_need(database, key, resolver, monkeypatch):
    resolver.answer(NAME, "127.0.0.1")
    register(database, f"https://{NAME}:8443/hook")
    monkeypatch.delenv("WEBHOOK_SECRET_KEY")
    with pytest.raises(webhooks.SecretKeyError, match="WEBHOOK_SECRET_KEY is not set"):
        webhooks.encrypt_plain_secrets(database)
    monkeypatch.setenv("WEBHOOK_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(webhooks.SecretKeyError, match="not the key they were encrypted with"):
        webhooks.encrypt_plain_secrets(database)


def test_racing_senders_claim_each_due_delivery_once(database, key, resolver):
    resolver.answer(NAME, "127.0.0.1")
    register(database, f"https://{NAME}:8443/hook")
    for _ in range(4):
        enrol(database)
    start = threading.Barrier(8)
    claims = []

    def sender():
        start.wait()
        claims.extend(webhooks.claim_due(database, utcnow(), 20))

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(claims) == 4 and len(set(claims)) == 4
