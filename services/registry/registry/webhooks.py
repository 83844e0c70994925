"""Outbound webhooks: partners' own HTTPS endpoints, told about events of their own partner.

Deliveries carry ids the partner already owns and nothing else, are signed with an HMAC secret
shown once at registration (stored encrypted), and are retried with exponential backoff. A
delivery's id is the event id plus the webhook id, so a redelivered event never queues a second
delivery.

A partner chooses the URL, so it could point into the platform's own network. Each attempt
resolves the name once, refuses every address that is not plainly on the public internet, and
connects to that very address: the name goes only into TLS (SNI and certificate check) and the
Host header, so a DNS answer that changes after the check cannot redirect the connection.
"""
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import threading
import time
import urllib.parse
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

from cryptography.fernet import Fernet, InvalidToken
from marshmallow import ValidationError
from urllib3.connection import HTTPSConnection

from coalition_common.errors import NotFound, validation_failed
from coalition_common.ids import new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.pagination import page
from coalition_common.schemas import load, public
from registry import audit, scope
from registry.schemas import WebhookSchema

MAX_ATTEMPTS = 8
ATTEMPT_SECONDS = 10  # connect, TLS, send and the response's status line and headers, all together
CONCURRENT_DELIVERIES = 8
PER_WEBHOOK_AT_ONCE = 2  # so one partner's backlog cannot take every slot
LEASE_SECONDS = 60  # well above ATTEMPT_SECONDS: a lease only runs out when its sender died
CLAIMS_KEPT_SECONDS = 86400  # a delivery's last retry comes ~21 min after it was queued

# One answer for every refusal: which rule refused, or whether the name resolved at all, would
# let a partner map the platform's internal network.
REFUSED = "The target is not allowed."

# Ranges that Python's `is_global` lets through (some also fall in its `is_reserved`, which has
# changed between Python versions) but that do not name one public host: translators and tunnels
# embed an IPv4 address we cannot vouch for.
REFUSED_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b::/96",    # NAT64, well-known prefix (RFC 6052)
    "64:ff9b:1::/48",  # NAT64, local use (RFC 8215)
    "2002::/16",       # 6to4 (RFC 3056)
    "2001::/32",       # Teredo (RFC 4380)
    "fec0::/10",       # site-local, deprecated but still routed by some stacks
    "3fff::/20",       # documentation (RFC 9637)
    "192.88.99.0/24",  # 6to4 relay anycast (RFC 7526)
    "192.0.0.0/24",    # IETF protocol assignments (RFC 6890): no partner's server lives there
))

Target = namedtuple("Target", "host port path address")


class TargetRefused(Exception):
    """A webhook URL this platform will not connect to. Its message is always REFUSED."""

    def __init__(self):
        super().__init__(REFUSED)


class SecretKeyError(RuntimeError):
    """WEBHOOK_SECRET_KEY is missing, malformed or not the key the stored secrets were encrypted
    with: the registry must not start, since it could neither store nor use signing secrets."""


def private_allowed():
    # Only for tests and local demos: loopback and private targets on any port.
    return os.environ.get("WEBHOOK_ALLOW_PRIVATE", "").lower() == "true"


def allowed_ports():
    raw = os.environ.get("WEBHOOK_PORTS", "") or "443"
    try:
        ports = frozenset(int(port) for port in raw.split(",") if port.strip())
    except ValueError:
        ports = frozenset({0})
    if not ports or not all(0 < port < 65536 for port in ports):
        raise ValueError("WEBHOOK_PORTS must be a comma-separated list of port numbers, e.g. 443,8443")
    return ports


def address_allowed(address):
    """Whether an address is plainly on the public internet (IPv4-mapped ones come unwrapped)."""
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in network for network in REFUSED_NETWORKS if network.version == address.version)


def resolve_target(url):
    """The URL's host name, port and path and the one address to connect to, or TargetRefused.

    The name is resolved once, here. Every address it resolves to must be allowed, not just the
    first: otherwise which one a later lookup picks would decide."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = 443 if parts.port is None else parts.port
        host = parts.hostname
        # Credentials in the URL would never be sent: refuse rather than drop them silently.
        if parts.scheme != "https" or not host or parts.username is not None or parts.password is not None:
            raise TargetRefused()
        try:
            ipaddress.ip_address(host)
        except ValueError:
            host = host.encode("idna").decode("ascii")  # an A-label for DNS, SNI and Host
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (ValueError, UnicodeError, OSError):  # a bad port or name, or a name that does not resolve
        raise TargetRefused() from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    # ::ffff:a.b.c.d is IPv4 a.b.c.d: judged, and connected to, as that.
    addresses = [a.ipv4_mapped if a.version == 6 and a.ipv4_mapped else a for a in addresses]
    if not addresses:
        raise TargetRefused()
    if not private_allowed() and (port not in allowed_ports() or not all(address_allowed(a) for a in addresses)):
        raise TargetRefused()
    path = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        path += "?" + urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return Target(host, port, path, str(addresses[0]))


def check_target(url):
    """None if webhooks may be sent to `url`, else the one message every refusal gets."""
    try:
        resolve_target(url)
    except TargetRefused:
        return REFUSED
    return None


# --- signing secrets, encrypted at rest ---

def secret_box():
    """The Fernet key signing secrets are encrypted with. Called at service start (through
    encrypt_plain_secrets) so a missing key stops the registry there, not at each delivery."""
    key = os.environ.get("WEBHOOK_SECRET_KEY", "")
    if not key:
        raise SecretKeyError(
            "WEBHOOK_SECRET_KEY is not set. It encrypts webhook signing secrets; generate one with "
            "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
    try:
        return Fernet(key.encode())
    except ValueError:
        raise SecretKeyError("WEBHOOK_SECRET_KEY is not a Fernet key (32 bytes, url-safe base64).") from None


def signing_secret(database, box, webhook):
    """The webhook's secret in clear. A document from before encryption holds it plain: it is
    encrypted now, and still used as it is."""
    if "secret_encrypted" in webhook:
        return box.decrypt(webhook["secret_encrypted"].encode()).decode()
    plain = webhook["secret"]
    database.webhooks.update_one({"_id": webhook["_id"], "secret": plain},
                                 {"$set": {"secret_encrypted": box.encrypt(plain.encode()).decode()},
                                  "$unset": {"secret": ""}})
    return plain


def prepare(database):
    """At service start: settings that would otherwise fail at each delivery fail here, and
    secrets stored in clear are encrypted."""
    allowed_ports()
    return encrypt_plain_secrets(database)


def encrypt_plain_secrets(database):
    """At service start: check the key (present, and the one stored secrets were encrypted with),
    and encrypt any secret still stored in clear. Returns how many were encrypted."""
    box = secret_box()
    sample = database.webhooks.find_one({"secret_encrypted": {"$exists": True}}, {"secret_encrypted": 1})
    if sample is not None:
        try:
            box.decrypt(sample["secret_encrypted"].encode())
        except InvalidToken:
            raise SecretKeyError("WEBHOOK_SECRET_KEY does not decrypt the stored webhook secrets: "
                                 "it is not the key they were encrypted with.") from None
    encrypted = 0
    for webhook in database.webhooks.find({"secret": {"$exists": True}}, {"secret": 1}):
        signing_secret(database, box, webhook)
        encrypted += 1
    return encrypted


# --- the API ---

def shown(document):
    return WebhookSchema().dump(public({k: v for k, v in document.items() if k not in ("secret", "secret_encrypted")}))


def find_webhook(database, identity, webhook_id, writable=False):
    """A webhook of the caller's own partner (the policy's tenancy: hub staff do not read
    members' webhooks); a deleted one is gone."""
    find = scope.find_writable if writable else scope.find_own
    webhook = find(database, "webhooks", identity, webhook_id, "webhook")
    if webhook["status"] == "deleted":
        raise NotFound("No such webhook.")
    return webhook


def register_webhook(database, identity, partner_id, payload):
    scope.find_writable_partner(database, identity, partner_id)
    fields = load(WebhookSchema(), payload)
    if check_target(fields["url"]) is not None:
        raise validation_failed(ValidationError({"url": [REFUSED]}))
    secret = "whsec_" + secrets.token_urlsafe(32)
    document = dict(fields, _id=new_id(), partner_id=partner_id, status="active", created_at=utcnow(),
                    secret_encrypted=secret_box().encrypt(secret.encode()).decode())
    database.webhooks.insert_one(document)
    audit.record(database, identity, "webhook.created", "webhook", document["_id"], partner_id, {"event_types": fields["event_types"]})
    return dict(shown(document), secret=secret)


def list_webhooks(database, identity, partner_id, cursor=None, limit=50):
    scope.find_writable_partner(database, identity, partner_id)  # own partner only
    documents, next_cursor = page(database.webhooks, {"partner_id": partner_id, "status": "active"}, cursor, limit,
                                  projection={"secret": 0, "secret_encrypted": 0})
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def get_webhook(database, identity, webhook_id):
    return shown(find_webhook(database, identity, webhook_id))


def delete_webhook(database, identity, webhook_id):
    webhook = find_webhook(database, identity, webhook_id, writable=True)
    database.webhooks.update_one({"_id": webhook_id}, {"$set": {"status": "deleted"}})
    audit.record(database, identity, "webhook.deleted", "webhook", webhook_id, webhook["partner_id"])


def list_deliveries(database, identity, webhook_id, cursor=None, limit=50):
    find_webhook(database, identity, webhook_id)
    documents, next_cursor = page(database.webhook_deliveries, {"webhook_id": webhook_id}, cursor, limit,
                                  projection={"body": 0})
    items = [
        {
            "id": d["_id"], "event_id": d["event_id"], "event_type": d["event_type"], "status": d["status"],
            "attempts": d["attempts"], "last_status_code": d.get("last_status_code"), "last_error": d.get("last_error"),
            "created_at": d["created_at"].isoformat(), "delivered_at": d["delivered_at"].isoformat() if d.get("delivered_at") else None,
        }
        for d in documents
    ]
    return {"items": items, "next_cursor": next_cursor}


# --- delivery ---

def queue_deliveries(database, event_type, event):
    """Queue one delivery per active webhook of the event's partner that wants this event type."""
    partner_id = event.get("partner_id")
    if not partner_id:
        return 0
    body = json.dumps({
        "id": event["event_id"],
        "type": event_type,
        # Only ids the partner already owns travel: never a name, an email or a code about a person.
        "data": {k: v for k, v in event.items() if k.endswith("_id") and k != "event_id"},
    }, sort_keys=True)
    queued = 0
    for webhook in database.webhooks.find({"partner_id": partner_id, "status": "active", "event_types": event_type}, {"_id": 1}):
        now = utcnow()
        try:
            database.webhook_deliveries.insert_one({
                # Sortable ids keep pagination in creation order; the unique pair stops duplicates.
                "_id": new_id(), "key": f"{event['event_id']}:{webhook['_id']}", "webhook_id": webhook["_id"],
                "partner_id": partner_id, "event_id": event["event_id"], "event_type": event_type, "body": body,
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            })
            queued += 1
        except Exception as error:
            if not is_duplicate_key(error):
                raise
    return queued


def sign(secret, timestamp, body):
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def backoff_seconds(attempts):
    return min(5 * 2 ** (attempts - 1), 3600)


def claim_due(database, now, limit):
    """Take up to `limit` due deliveries, oldest first, at most PER_WEBHOOK_AT_ONCE per webhook.

    Two senders (replicas) may read the same due delivery. A conditional update cannot settle who
    sends it (FerretDB does not apply one atomically), so the sender that inserts the claim for
    the delivery's present state (attempts made, lease) sends, and the other gets a duplicate key."""
    due = database.webhook_deliveries.find({"$or": [
        {"status": "pending", "next_attempt_at": {"$lte": now}},
        {"status": "sending", "lease_until": {"$lte": now}},  # a sender died mid-delivery
    ]}, {"body": 0}).sort("_id", 1).limit(limit * 10)
    claimed, per_webhook = [], {}
    for delivery in due:
        if len(claimed) == limit:
            break
        if per_webhook.get(delivery["webhook_id"], 0) >= PER_WEBHOOK_AT_ONCE:
            continue
        lease = delivery.get("lease_until")
        state = f"{delivery['attempts']}:{lease.isoformat() if lease else '-'}"
        try:
            database.webhook_delivery_claims.insert_one({"_id": f"{delivery['_id']}:{state}"})
        except Exception as error:
            if is_duplicate_key(error):
                continue
            raise
        database.webhook_deliveries.update_one({"_id": delivery["_id"]}, {"$set": {
            "status": "sending", "lease_until": now + datetime.timedelta(seconds=LEASE_SECONDS)}})
        per_webhook[delivery["webhook_id"]] = per_webhook.get(delivery["webhook_id"], 0) + 1
        claimed.append(delivery["_id"])
    return claimed


_pruned = {"at": 0.0}


def prune_claims(database):
    """Drop claims for deliveries queued more than a day ago (claim ids start with the delivery's
    id, which starts with its creation time), at most once an hour per process."""
    if time.time() - _pruned["at"] < 3600:
        return
    _pruned["at"] = time.time()
    oldest_kept = f"{int((time.time() - CLAIMS_KEPT_SECONDS) * 1000):012x}"
    database.webhook_delivery_claims.delete_many({"_id": {"$lt": oldest_kept}})


class Deadline:
    """Cuts a connection when the attempt's time is up, whatever it is waiting for. A socket
    timeout alone bounds each read, so an endpoint that trickles a byte at a time never hits it."""

    def __init__(self, connection, seconds):
        self.connection = connection
        self.passed = False
        self.timer = threading.Timer(seconds, self.cut)
        self.timer.daemon = True

    def cut(self):
        self.passed = True
        sock = self.connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read or handshake; close() would not
            except OSError:
                pass

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.cancel()


def send(target, body, headers):
    """POST `body` to the target's checked address; returns the response status.

    No redirects (the response is the answer), no retries (the backoff schedule retries)."""
    connection = HTTPSConnection(
        target.address, target.port, timeout=ATTEMPT_SECONDS,
        server_hostname=target.host, assert_hostname=target.host,
        cert_reqs="CERT_REQUIRED", ca_certs=os.environ.get("WEBHOOK_CA_BUNDLE") or None,
    )
    host = f"[{target.host}]" if ":" in target.host else target.host
    headers = dict(headers, Host=host if target.port == 443 else f"{host}:{target.port}")
    try:
        with Deadline(connection, ATTEMPT_SECONDS) as deadline:
            try:
                connection.connect()
                if not deadline.passed:  # it may pass while connecting, before there is a socket to cut
                    connection.request("POST", target.path, body=body, headers=headers, preload_content=False)
                    status = connection.getresponse().status  # the body is never read
            finally:
                if deadline.passed:  # however the cut shows: as an error, or mid-headers as their end
                    raise TimeoutError("deadline")
            return status
    finally:
        connection.close()


def attempt(database, box, delivery_id):
    """One attempt at one claimed delivery, and its outcome recorded."""
    delivery = database.webhook_deliveries.find_one({"_id": delivery_id})
    webhook = database.webhooks.find_one({"_id": delivery["webhook_id"]})
    if webhook is None or webhook["status"] != "active":
        database.webhook_deliveries.update_one({"_id": delivery_id}, {"$set": {"status": "cancelled"}})
        return
    status_code, error = None, None
    try:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "coalition-webhooks/1",
            "X-Coalition-Event": delivery["event_type"],
            "X-Coalition-Delivery": delivery_id,
            "X-Coalition-Signature": f"t={timestamp},v1={sign(signing_secret(database, box, webhook), timestamp, delivery['body'])}",
        }
        # Checked again at each attempt: the name may resolve elsewhere since registration.
        status_code = send(resolve_target(webhook["url"]), delivery["body"].encode(), headers)
    except TargetRefused:
        error = REFUSED
    except Exception as exc:  # whatever went wrong is recorded (its kind, never a value), not raised
        error = type(exc).__name__
    attempts = delivery["attempts"] + 1
    if status_code is not None and 200 <= status_code < 300:
        update = {"status": "delivered", "delivered_at": utcnow()}
    elif attempts >= MAX_ATTEMPTS:
        update = {"status": "failed"}
    else:
        update = {"status": "pending", "next_attempt_at": utcnow() + datetime.timedelta(seconds=backoff_seconds(attempts))}
    update.update(attempts=attempts, last_status_code=status_code, last_error=error)
    database.webhook_deliveries.update_one({"_id": delivery_id}, {"$set": update})


def deliver_due(database, limit=20):
    """Send what is due, CONCURRENT_DELIVERIES at a time, so a slow endpoint holds one slot for
    at most ATTEMPT_SECONDS. Returns how many deliveries were attempted."""
    box = secret_box()
    prune_claims(database)
    claimed = claim_due(database, utcnow(), limit)
    if claimed:
        # Real threads in tests; green threads inside the service, where eventlet patches threading.
        with ThreadPoolExecutor(max_workers=CONCURRENT_DELIVERIES, thread_name_prefix="webhook") as senders:
            for outcome in [senders.submit(attempt, database, box, delivery_id) for delivery_id in claimed]:
                outcome.result()
    return len(claimed)
