"""The registry database's indexes: unique ones keep names, emails, key hashes and webhook
deliveries single without transactions."""
from pymongo import ASCENDING


def prepare(database):
    database.api_keys.create_index([("hash", ASCENDING)], unique=True)
    database.api_keys.create_index([("staff_id", ASCENDING)])
    database.staff.create_index([("partner_id", ASCENDING)])
    database.staff.create_index([("email", ASCENDING)], unique=True)
    database.partners.create_index([("name", ASCENDING)], unique=True)
    database.programs.create_index([("partner_id", ASCENDING)])
    database.webhooks.create_index([("partner_id", ASCENDING)])
    database.webhook_deliveries.create_index([("webhook_id", ASCENDING)])
    database.webhook_deliveries.create_index([("key", ASCENDING)], unique=True)
    database.webhook_deliveries.create_index([("status", ASCENDING)])
    database.audit.create_index([("action", ASCENDING)])
