"""Who a key belongs to, and the coalition-admin key bootstrap."""
from coalition_common.errors import Conflict, Forbidden, Unauthenticated, ValidationFailed
from coalition_common.ids import new_id, utcnow
from coalition_common.pagination import page
from coalition_common.schemas import load
from registry import audit, keys, scope
from registry.schemas import KeyCreateSchema, KeySchema

# last_used_at is written at most this often per key, so authentication stays a read.
LAST_USED_RESOLUTION_SECONDS = 60
BOOTSTRAP_ADMIN_EMAIL = "coalition-admin@coalition.invalid"


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
    charter_accepted = False
    if staff.get("partner_id"):
        partner = database.partners.find_one({"_id": staff["partner_id"]})
        if partner is None or partner.get("status") != "active":
            raise Unauthenticated("Missing or invalid API key.")
        hub_id = partner["_id"] if partner["kind"] == "regional_hub" else partner.get("hub_id")
        charter_accepted = partner.get("charter") is not None
    last_used = record.get("last_used_at")
    if last_used is None or (now - last_used).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        database.api_keys.update_one({"_id": record["_id"]}, {"$set": {"last_used_at": now}})
    return {
        "staff_id": staff["_id"],
        "partner_id": staff.get("partner_id"),
        "hub_id": hub_id,
        "roles": list(staff["roles"]),
        "key_id": record["_id"],
        "charter_accepted": charter_accepted,
        # The gateway caches identities; it must not outlive the key.
        "expires_at": record["expires_at"].isoformat() if record.get("expires_at") else None,
    }


def store_key(database, staff, key, prefix, *, expires_at=None, bootstrap=False, label=None):
    record = {
        "_id": new_id(),
        "prefix": prefix,
        "label": label,
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
    record = store_key(database, staff, key, keys.visible_prefix(key), bootstrap=True)
    audit.record(database, {"staff_id": staff["_id"]}, "key.bootstrapped", "key", record["_id"])
    return {"staff_id": staff["_id"], "changed": True}


def _key_holder(database, identity, staff_id):
    """The staff member whose keys the caller manages: themselves, or anyone at their own
    partner for its partner admin, or anyone for a coalition admin."""
    staff = scope.find_readable(database, "staff", identity, staff_id, "staff member")
    if staff["_id"] == identity["staff_id"] or scope.is_admin(identity):
        return staff
    if "partner_admin" in identity["roles"] and staff.get("partner_id") == identity.get("partner_id"):
        return staff
    raise Forbidden("Only the staff member or their partner admin manages these keys.")


def issue_key(database, identity, staff_id, payload=None):
    """A new key for a staff member. The plain key is returned once and never stored."""
    staff = _key_holder(database, identity, staff_id)
    if staff.get("status") != "active":
        raise Conflict("That staff member is not active.", {"staff_id": ["Not active."]})
    fields = load(KeyCreateSchema(), payload or {})
    if fields.get("expires_at") is not None and fields["expires_at"] <= utcnow():
        raise ValidationFailed("The expiry is in the past.", {"expires_at": ["Must be in the future."]})
    key, prefix = keys.generate_key()
    record = store_key(database, staff, key, prefix, expires_at=fields.get("expires_at"), label=fields.get("label"))
    audit.record(database, identity, "key.created", "key", record["_id"], staff.get("partner_id"), {"staff_id": staff_id})
    return dict(KeySchema().dump(dict(record, id=record["_id"])), key=key)


def list_keys(database, identity, staff_id, cursor=None, limit=50):
    _key_holder(database, identity, staff_id)
    records, next_cursor = page(database.api_keys, {"staff_id": staff_id}, cursor, limit)
    return {"items": [KeySchema().dump(dict(r, id=r["_id"])) for r in records], "next_cursor": next_cursor}


def revoke_key(database, identity, key_id):
    record = scope.find_readable(database, "api_keys", identity, key_id, "key")
    _key_holder(database, identity, record["staff_id"])
    if record.get("revoked_at") is None:
        database.api_keys.update_one({"_id": key_id, "revoked_at": None}, {"$set": {"revoked_at": utcnow()}})
        audit.record(database, identity, "key.revoked", "key", key_id, record.get("partner_id"), {"staff_id": record["staff_id"]})
    updated = database.api_keys.find_one({"_id": key_id})
    return KeySchema().dump(dict(updated, id=updated["_id"]))
