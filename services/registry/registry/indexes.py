"""The registry database's indexes: unique ones keep names, emails, key hashes and webhook
deliveries single without transactions. Also the migrations those indexes and optimistic
concurrency need, run first; each is idempotent, so every start may run them."""
from pymongo import ASCENDING

from coalition_common.revisions import ensure_versions
from registry import partners, staff, webhooks


def prepare(database):
    ensure_versions(database.partners)
    ensure_versions(database.programs)
    partners.ensure_name_keys(database)
    ensure_versions(database.staff)
    staff.ensure_email_keys(database)
    if "email_1" in database.staff.index_information():
        database.staff.drop_index("email_1")  # unique coalition-wide, it told partners about each other's staff
    if "name_1" in database.partners.index_information():
        database.partners.drop_index("name_1")  # names now collide case-insensitively, by name_key
    database.api_keys.create_index([("hash", ASCENDING)], unique=True)
    database.api_keys.create_index([("staff_id", ASCENDING)])
    database.api_keys.create_index([("ancestors", ASCENDING)])
    database.enrolments.create_index([("hash", ASCENDING)], unique=True)
    database.enrolments.create_index([("staff_id", ASCENDING)])
    database.enrolments.create_index([("minted_by_key_id", ASCENDING)])
    database.staff.create_index([("partner_id", ASCENDING)])
    database.staff.create_index([("partner_id", ASCENDING), ("email_key", ASCENDING)], unique=True)
    database.partners.create_index([("name_key", ASCENDING)], unique=True)
    database.programs.create_index([("partner_id", ASCENDING)])
    database.webhooks.create_index([("partner_id", ASCENDING)])
    database.webhook_deliveries.create_index([("webhook_id", ASCENDING)])
    database.webhook_deliveries.create_index([("key", ASCENDING)], unique=True)
    database.webhook_deliveries.create_index([("status", ASCENDING)])
    database.audit.create_index([("action", ASCENDING)])
    # Refuses to start without a webhook encryption key that reads the stored secrets.
    webhooks.prepare(database)
