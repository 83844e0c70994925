"""Outbound webhooks: partners' own HTTPS endpoints, told about events of their own partner.

Deliveries carry ids the partner already owns and nothing else, are signed with an HMAC secret
shown once at registration, and are retried with exponential backoff. A delivery's id is the
event id plus the webhook id, so a redelivered event never queues a second delivery.
"""
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import socket
import time
import urllib.parse

import requests
from marshmallow import ValidationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from coalition_common.errors import validation_failed
from coalition_common.ids import new_id, utcnow
from coalition_common.pagination import page
from coalition_common.schemas import load, public
from registry import audit, scope
from registry.schemas import WebhookSchema

MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5
LEASE_SECONDS = 60


def shown(document):
    return WebhookSchema().dump(public({k: v for k, v in document.items() if k != "secret"}))


def _private_allowed():
    # Only for tests and local demos: production refuses loopback and private targets (SSRF).
    return os.environ.get("WEBHOOK_ALLOW_PRIVATE", "").lower() == "true"


def check_target(url):
    """Refuse targets that resolve to loopback, private, link-local or otherwise internal
    addresses, so a webhook cannot be pointed at the platform's own network."""
    host = urllib.parse.urlsplit(url).hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        return "The host does not resolve."
    if _private_allowed():
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global:
            return "The host resolves to an internal address."
    return None


def register_webhook(database, identity, partner_id, payload):
    scope.find_writable_partner(database, identity, partner_id)
    fields = load(WebhookSchema(), payload)
    problem = check_target(fields["url"])
    if problem:
        raise validation_failed(ValidationError({"url": [problem]}))
    secret = "whsec_" + secrets.token_urlsafe(32)
    document = dict(fields, _id=new_id(), partner_id=partner_id, secret=secret, status="active", created_at=utcnow())
    database.webhooks.insert_one(document)
    audit.record(database, identity, "webhook.created", "webhook", document["_id"], partner_id, {"event_types": fields["event_types"]})
    return dict(shown(document), secret=secret)


def list_webhooks(database, identity, partner_id, cursor=None, limit=50):
    scope.find_readable_partner(database, identity, partner_id)
    documents, next_cursor = page(database.webhooks, {"partner_id": partner_id, "status": "active"}, cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def get_webhook(database, identity, webhook_id):
    return shown(scope.find_readable(database, "webhooks", identity, webhook_id, "webhook"))


def delete_webhook(database, identity, webhook_id):
    webhook = scope.find_writable(database, "webhooks", identity, webhook_id, "webhook")
    database.webhooks.update_one({"_id": webhook_id}, {"$set": {"status": "deleted"}})
    audit.record(database, identity, "webhook.deleted", "webhook", webhook_id, webhook["partner_id"])


def list_deliveries(database, identity, webhook_id, cursor=None, limit=50):
    scope.find_readable(database, "webhooks", identity, webhook_id, "webhook")
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
    for webhook in database.webhooks.find({"partner_id": partner_id, "status": "active", "event_types": event_type}):
        now = utcnow()
        try:
            database.webhook_deliveries.insert_one({
                # Sortable ids keep pagination in creation order; the unique pair stops duplicates.
                "_id": new_id(), "key": f"{event['event_id']}:{webhook['_id']}", "webhook_id": webhook["_id"],
                "partner_id": partner_id, "event_id": event["event_id"], "event_type": event_type, "body": body,
                "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
            })
            queued += 1
        except DuplicateKeyError:
            pass
    return queued


def sign(secret, timestamp, body):
    return hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()


def backoff_seconds(attempts):
    return min(5 * 2 ** (attempts - 1), 3600)


def _claim(database, now):
    return database.webhook_deliveries.find_one_and_update(
        {"$or": [
            {"status": "pending", "next_attempt_at": {"$lte": now}},
            {"status": "sending", "lease_until": {"$lte": now}},  # a sender died mid-delivery
        ]},
        {"$set": {"status": "sending", "lease_until": now + datetime.timedelta(seconds=LEASE_SECONDS)}},
        return_document=ReturnDocument.AFTER,
    )


def deliver_due(database, post=requests.post, limit=20):
    """Send what is due. Returns how many deliveries were attempted."""
    attempted = 0
    while attempted < limit:
        now = utcnow()
        delivery = _claim(database, now)
        if delivery is None:
            break
        attempted += 1
        webhook = database.webhooks.find_one({"_id": delivery["webhook_id"]})
        if webhook is None or webhook["status"] != "active":
            database.webhook_deliveries.update_one({"_id": delivery["_id"]}, {"$set": {"status": "cancelled"}})
            continue
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "coalition-webhooks/1",
            "X-Coalition-Event": delivery["event_type"],
            "X-Coalition-Delivery": delivery["_id"],
            "X-Coalition-Signature": f"t={timestamp},v1={sign(webhook['secret'], timestamp, delivery['body'])}",
        }
        status_code, error = None, None
        if (problem := check_target(webhook["url"])) is not None:
            error = problem  # checked again at send time: DNS may have changed since registration
        else:
            try:
                response = post(webhook["url"], data=delivery["body"].encode(), headers=headers, timeout=TIMEOUT_SECONDS,
                                allow_redirects=False, verify=os.environ.get("WEBHOOK_CA_BUNDLE") or True)
                status_code = response.status_code
            except requests.RequestException as exc:
                error = type(exc).__name__
        attempts = delivery["attempts"] + 1
        if status_code is not None and 200 <= status_code < 300:
            update = {"status": "delivered", "delivered_at": utcnow()}
        elif attempts >= MAX_ATTEMPTS:
            update = {"status": "failed"}
        else:
            update = {"status": "pending", "next_attempt_at": utcnow() + datetime.timedelta(seconds=backoff_seconds(attempts))}
        update.update(attempts=attempts, last_status_code=status_code, last_error=error)
        database.webhook_deliveries.update_one({"_id": delivery["_id"]}, {"$set": update})
    return attempted
