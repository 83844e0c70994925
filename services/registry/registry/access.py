"""Who a key belongs to, and the coalition-admin key bootstrap."""
from pymongo import ASCENDING

from coalition_common.errors import Conflict, Unauthenticated, ValidationFailed
from coalition_common.ids import new_id, utcnow
from registry import keys

# last_used_at is written at most this often per key, so authentication stays a read.
LAST_USED_RESOLUTION_SECONDS = 60
BOOTSTRAP_ADMIN_EMAIL = "coalition-admin@coalition.invalid"


def prepare(database):
    database.api_keys.create_index([("hash", ASCENDING)], unique=True)
    database.api_keys.create_index([("staff_id", ASCENDING)])
    database.staff.create_index([("partner_id", ASCENDING)])
    database.staff.create_index([("email", ASCENDING)], unique=True)
    database.partners.create_index([("name", ASCENDING)], unique=True)
    database.applied_events.create_index([("applied_at", ASCENDING)])


def authenticate(database, key):
    """Resolve a bearer key to an identity, or raise Unauthenticated. The same answer is given
    for unknown, revoked and expired keys and suspended partners, so nothing leaks."""
    if not isinstance(key, str) or not key or len(key) > 200:
        raise Unauthenticated("Missing or invalid API key.")
    record = database.api_keys.find_one({"hash": keys.hash_key(key)})
    now = utcnow()
    if record is None or record.get("revoked_at") is not None:
        raise Unauthenticated("Missing or invalid API key.")
    if record.get("expires_at") is not None and record["expires_at"] <= now:
        raise Unauthenticated("Missing or invalid API key.")
    staff = database.staff.find_one({"_id": record["staff_id"]})
    if staff is None or staff.get("status") != "active":
        raise Unauthenticated("Missing or invalid API key.")
    hub_id = None
    if staff.get("partner_id"):
        partner = database.partners.find_one({"_id": staff["partner_id"]})
        if partner is None or partner.get("status") != "active":
            raise Unauthenticated("Missing or invalid API key.")
        hub_id = partner["_id"] if partner["kind"] == "regional_hub" else partner.get("hub_id")
    last_used = record.get("last_used_at")
    if last_used is None or (now - last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        database.api_keys.update_one({"_id": record["_id"]}, {"$set": {"last_used_at": now}})
    return {
        "staff_id": staff["_id"],
        "partner_id": staff.get("partner_id"),
        "hub_id": hub_id,
        "roles": list(staff["roles"]),
        "key_id": record["_id"],
    }


def store_key(database, staff, key, prefix, *, expires_at=None, bootstrap=False):
    record = {
        "_id": new_id(),
        "prefix": prefix,
        "hash": keys.hash_key(key),
        "staff_id": staff["_id"],
        "partner_id": staff.get("partner_id"),
        "created_at": utcnow(),
        "expires_at": expires_at,
        "revoked_at": None,
        "last_used_at": None,
        "bootstrap": bootstrap,
    }
    database.api_keys.insert_one(record)
    return record


def bootstrap_admin(database, key):
    """Create the coalition-admin staff member if missing, and make `key` its bootstrap key.
    A different key rotates: earlier bootstrap keys are revoked. Returns what changed."""
    if not isinstance(key, str) or len(key) < keys.MIN_SUPPLIED_KEY_LENGTH:
        raise ValidationFailed(
            "COALITION_ADMIN_KEY is too short.",
            {"key": [f"Must be at least {keys.MIN_SUPPLIED_KEY_LENGTH} characters."]},
        )
    now = utcnow()
    database.staff.update_one(
        {"email": BOOTSTRAP_ADMIN_EMAIL},
        {
            "$setOnInsert": {
                "_id": new_id(),
                "partner_id": None,
                "name": "Coalition administrator",
                "email": BOOTSTRAP_ADMIN_EMAIL,
                "roles": ["coalition_admin"],
                "status": "active",
                "created_at": now,
            }
        },
        upsert=True,
    )
    staff = database.staff.find_one({"email": BOOTSTRAP_ADMIN_EMAIL})
    hashed = keys.hash_key(key)
    existing = database.api_keys.find_one({"hash": hashed})
    if existing is not None and existing.get("revoked_at") is None:
        return {"staff_id": staff["_id"], "changed": False}
    if existing is not None:
        # A revoked key stays revoked: bringing an old secret back would undo the revocation.
        raise Conflict("That key was revoked; choose a new COALITION_ADMIN_KEY.", {"key": ["Revoked earlier."]})
    database.api_keys.update_many(
        {"staff_id": staff["_id"], "bootstrap": True, "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    store_key(database, staff, key, keys.visible_prefix(key), bootstrap=True)
    return {"staff_id": staff["_id"], "changed": True}
