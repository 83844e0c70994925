"""Who a key belongs to, the keys staff mint for themselves, enrolment tokens, and the
coalition-admin key bootstrap.

Lock-outs have to hold on FerretDB, whose updates rewrite the whole document they read, with no
compare-and-set in between. Hence:
- an `api_keys` document is written only to revoke it, so no other writer can put back a
  revocation that landed between its read and its write (last use lives in `key_usage`);
- a key is refused while any key above it (`ancestors`) is revoked, so a key minted while its
  parent was being revoked is dead as well;
- whether an enrolment token is exchanged or voided is decided by inserting its id into
  `enrolments_used`, whose unique `_id` lets exactly one of them through.
"""
from pymongo.errors import PyMongoError

from coalition_common import policy
from coalition_common.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from coalition_common.ids import as_stored, new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.pagination import page
from coalition_common.schemas import load
from registry import audit, keys, scope
from registry.schemas import KeyCreateSchema, KeySchema

# last use is written at most this often per key, so authentication stays a read.
LAST_USED_RESOLUTION_SECONDS = 60
# Already in the normalised form staff.email_key gives.
BOOTSTRAP_ADMIN_EMAIL = "coalition-admin@coalition.invalid"
# Enough for every device and script a person runs; keys are minted from keys, so no loop can
# fill the database with them.
MAX_ACTIVE_KEYS = 20
# One answer for every refusal, so nothing is learnt about which check failed.
KEY_REFUSED = "Missing or invalid API key."
ENROLMENT_REFUSED = "Invalid or expired enrolment token."


def _key_is_live(database, record, now):
    """Not revoked, not expired, and nothing above it revoked."""
    if record is None or record.get("revoked_at") is not None:
        return False
    expires_at = keys.effective_expiry(record)
    if expires_at is not None and expires_at <= now:
        return False
    ancestors = record.get("ancestors") or []
    return not ancestors or database.api_keys.find_one(
        {"_id": {"$in": ancestors}, "revoked_at": {"$ne": None}}, {"_id": 1}) is None


def _identity(database, record, now):
    """The identity behind a stored key as the database says now, or Unauthenticated. The same
    answer for an unknown, revoked or expired key, erased staff and a suspended partner."""
    if not _key_is_live(database, record, now):
        raise Unauthenticated(KEY_REFUSED)
    staff = database.staff.find_one({"_id": record["staff_id"]})
    if staff is None or staff.get("status") != "active":
        raise Unauthenticated(KEY_REFUSED)
    hub_id = None
    charter_accepted = False
    if staff.get("partner_id"):
        partner = database.partners.find_one({"_id": staff["partner_id"]})
        if partner is None or partner.get("status") != "active":
            raise Unauthenticated(KEY_REFUSED)
        hub_id = partner["_id"] if partner["kind"] == "regional_hub" else partner.get("hub_id")
        charter_accepted = partner.get("charter") is not None
    expires_at = keys.effective_expiry(record)
    return {
        "staff_id": staff["_id"],
        "partner_id": staff.get("partner_id"),
        "hub_id": hub_id,
        "roles": list(staff["roles"]),
        "key_id": record["_id"],
        "charter_accepted": charter_accepted,
        # The gateway caches identities; it must not outlive the key.
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def authenticate(database, key):
    """Resolve a bearer key to an identity, or raise Unauthenticated."""
    if not isinstance(key, str) or not key or len(key) > 200:
        raise Unauthenticated(KEY_REFUSED)
    now = utcnow()
    record = database.api_keys.find_one({"hash": keys.hash_key(key)})
    identity = _identity(database, record, now)
    _note_use(database, record["_id"], now)
    return identity


def recheck(database, identity):
    """The caller as the database says now (never from a cache): their key live, they and their
    partner active, their current roles. Operator identities carry no key and are trusted as
    signed. Raises Unauthenticated otherwise."""
    if identity.get("operator") is True and not identity.get("key_id"):
        return identity
    key_id = identity.get("key_id")
    if not isinstance(key_id, str) or not key_id or len(key_id) > 64:
        raise Unauthenticated(KEY_REFUSED)
    fresh = _identity(database, database.api_keys.find_one({"_id": key_id}), utcnow())
    if fresh["staff_id"] != identity.get("staff_id"):
        raise Unauthenticated(KEY_REFUSED)
    return fresh


def _note_use(database, key_id, now):
    usage = database.key_usage.find_one({"_id": key_id})
    if usage is not None and (now - usage["last_used_at"]).total_seconds() <= LAST_USED_RESOLUTION_SECONDS:
        return
    try:
        database.key_usage.update_one({"_id": key_id}, {"$set": {"last_used_at": now}}, upsert=True)
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise  # else a parallel request recorded the use first


def _shown_key(database, record):
    usage = database.key_usage.find_one({"_id": record["_id"]}) or {}
    return KeySchema().dump(dict(record, id=record["_id"], last_used_at=usage.get("last_used_at")))


def store_key(database, staff, key, prefix, *, expires_at, parent=None, bootstrap=False, label=None):
    """Store a key's hash. `parent` is the key record that minted it (None for a root key: the
    bootstrap key, or a first key from an enrolment token)."""
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
        "bootstrap": bootstrap,
        "parent_key_id": parent["_id"] if parent else None,
        "ancestors": (list(parent.get("ancestors") or []) + [parent["_id"]]) if parent else [],
    }
    database.api_keys.insert_one(record)
    return record


def void_enrolments(database, query):
    """Make the unexpired enrolment tokens matching `query` unusable; returns how many this
    call voided (a token already exchanged or voided is left as it is)."""
    now = utcnow()
    voided = 0
    for enrolment in database.enrolments.find(scope.both(query, {"expires_at": {"$gt": now}}), {"_id": 1}):
        voided += _claim_enrolment(database, enrolment["_id"], "voided", now)
    return voided


def _claim_enrolment(database, enrolment_id, outcome, now):
    """True for the one caller whose insert the unique `_id` lets through."""
    try:
        database.enrolments_used.insert_one({"_id": enrolment_id, "outcome": outcome, "at": now})
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise
        return False
    return True


def revoke_keys(database, query):
    """Revoke the keys matching `query`, every key minted from them, and the enrolment tokens any
    of them minted. Returns the ids of the keys this call revoked."""
    now = as_stored(utcnow())
    roots = [r["_id"] for r in database.api_keys.find(query, {"_id": 1})]
    if not roots:
        return []
    tree = roots + [r["_id"] for r in database.api_keys.find({"ancestors": {"$in": roots}}, {"_id": 1})]
    database.api_keys.update_many({"_id": {"$in": tree}, "revoked_at": None}, {"$set": {"revoked_at": now}})
    # A key minted since the read above: authentication refuses it already (its ancestor is
    # revoked); revoke it too, so listings say so.
    database.api_keys.update_many({"ancestors": {"$in": roots}, "revoked_at": None}, {"$set": {"revoked_at": now}})
    void_enrolments(database, {"minted_by_key_id": {"$in": tree}})
    return [r["_id"] for r in database.api_keys.find(
        {"$or": [{"_id": {"$in": roots}}, {"ancestors": {"$in": roots}}], "revoked_at": now}, {"_id": 1})]


def bootstrap_admin(database, key):
    """Create the coalition-admin staff member if missing, and make `key` its bootstrap key.
    A different key rotates: every key of every coalition admin is revoked, with all they minted.
    Returns what changed, with `revoked_ids`."""
    if not isinstance(key, str) or len(key) < keys.MIN_SUPPLIED_KEY_LENGTH:
        raise ValidationFailed(
            "COALITION_ADMIN_KEY is too short.",
            {"key": [f"Must be at least {keys.MIN_SUPPLIED_KEY_LENGTH} characters."]},
        )
    staff = _bootstrap_staff(database)
    existing = database.api_keys.find_one({"hash": keys.hash_key(key)})
    if existing is not None and existing.get("revoked_at") is None:
        return {"staff_id": staff["_id"], "changed": False, "revoked_ids": []}
    if existing is not None:
        # A revoked key stays revoked: bringing an old secret back would undo the revocation.
        raise Conflict("That key was revoked; choose a new COALITION_ADMIN_KEY.", {"key": ["Revoked earlier."]})
    # Whoever held the old secret may have minted admin keys with it: those go too.
    admins = [s["_id"] for s in database.staff.find({"roles": "coalition_admin"}, {"_id": 1})]
    revoked = revoke_keys(database, {"staff_id": {"$in": admins}})
    record = store_key(database, staff, key, keys.visible_prefix(key), expires_at=None, bootstrap=True)
    audit.record(database, {"staff_id": staff["_id"]}, "key.bootstrapped", "key", record["_id"], None,
                 {"revoked": len(revoked)})
    return {"staff_id": staff["_id"], "changed": True, "revoked_ids": revoked}


def _bootstrap_staff(database):
    which = {"partner_id": None, "email_key": BOOTSTRAP_ADMIN_EMAIL}
    staff = database.staff.find_one(which)
    if staff is not None:
        return staff
    now = utcnow()
    try:
        database.staff.insert_one(dict(
            which, _id=new_id(), name="Coalition administrator", email=BOOTSTRAP_ADMIN_EMAIL,
            roles=["coalition_admin"], status="active", version=1, created_at=now, updated_at=now))
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise  # else a parallel bootstrap created it
    return database.staff.find_one(which)


def _key_holder(database, identity, staff_id):
    """The staff member whose keys the caller lists or revokes: themselves, anyone at their own
    partner for its partner admin, or anyone for a coalition admin."""
    staff = scope.find_own(database, "staff", identity, staff_id, "staff member")
    if staff["_id"] == identity["staff_id"] or scope.is_admin(identity):
        return staff
    if "partner_admin" in identity["roles"] and staff.get("partner_id") == identity.get("partner_id"):
        return staff
    raise Forbidden("Only the staff member or their partner admin manages these keys.")


def issue_key(database, identity, staff_id, payload=None):
    """A new key for the caller, minted with the key they call with. It expires after 90 days
    unless asked for less, at most a year, and never after the minting key. Colleagues get an
    enrolment token instead, so nobody ever holds another person's key. The plain key is
    returned once and never stored."""
    policy.authorize(identity, "key.issue")
    if not identity.get("key_id") or staff_id != identity.get("staff_id"):
        # Someone at another partner is not found at all; a colleague is refused by name.
        scope.find_own(database, "staff", identity, staff_id, "staff member")
        raise Forbidden("Keys are minted only by their holder; a colleague gets an enrolment token.")
    fields = load(KeyCreateSchema(), payload or {})
    now = utcnow()
    parent = database.api_keys.find_one({"_id": identity["key_id"]})
    caller = _identity(database, parent, now)  # as the database says now, whatever the caller was told
    if caller["staff_id"] != staff_id:
        raise Unauthenticated(KEY_REFUSED)
    expires_at = keys.key_expiry(fields.get("expires_at"), now, keys.effective_expiry(parent))
    active = database.api_keys.count_documents({"staff_id": staff_id, "revoked_at": None, "expires_at": {"$gt": now}})
    if active >= MAX_ACTIVE_KEYS:
        raise Conflict(f"You hold {MAX_ACTIVE_KEYS} live keys; revoke one first.", {"staff_id": ["Too many live keys."]})
    key, prefix = keys.generate_key()
    record = store_key(database, {"_id": staff_id, "partner_id": caller["partner_id"]}, key, prefix,
                       expires_at=expires_at, label=fields.get("label"), parent=parent)
    if not _key_is_live(database, database.api_keys.find_one({"_id": parent["_id"]}), utcnow()):
        # The parent was revoked while this key was stored; the revocation may not have seen it.
        revoke_keys(database, {"_id": record["_id"]})
        raise Unauthenticated(KEY_REFUSED)
    audit.record(database, identity, "key.created", "key", record["_id"], caller["partner_id"], {"staff_id": staff_id})
    return dict(_shown_key(database, record), key=key)


def list_keys(database, identity, staff_id, cursor=None, limit=50):
    _key_holder(database, identity, staff_id)
    records, next_cursor = page(database.api_keys, {"staff_id": staff_id}, cursor, limit)
    usage = {u["_id"]: u["last_used_at"] for u in database.key_usage.find({"_id": {"$in": [r["_id"] for r in records]}})}
    items = [KeySchema().dump(dict(r, id=r["_id"], last_used_at=usage.get(r["_id"]))) for r in records]
    return {"items": items, "next_cursor": next_cursor}


def revoke_key(database, identity, key_id):
    """Revoke a key and everything it minted (keys and unused enrolment tokens). Returns the key,
    with `revoked_ids`: every key this call revoked, for the lock-out announcement."""
    record = scope.find_own(database, "api_keys", identity, key_id, "key")
    _key_holder(database, identity, record["staff_id"])
    revoked = revoke_keys(database, {"_id": key_id})
    if revoked:
        audit.record(database, identity, "key.revoked", "key", key_id, record.get("partner_id"),
                     {"staff_id": record["staff_id"], "keys": len(revoked)})
    return dict(_shown_key(database, database.api_keys.find_one({"_id": key_id})), revoked_ids=revoked)


def mint_enrolment(database, identity, staff):
    """A single-use token with which `staff` gets their first (or a replacement) key, voiding
    their earlier unused ones. Only its hash is stored; it is valid 72 hours and never after the
    key that minted it. Returns the token, shown once."""
    now = utcnow()
    minting_key = database.api_keys.find_one({"_id": identity["key_id"]}) if identity.get("key_id") else None
    void_enrolments(database, {"staff_id": staff["_id"]})
    token = keys.generate_enrolment_token()
    expires_at = keys.enrolment_expiry(now, keys.effective_expiry(minting_key) if minting_key else None)
    enrolment_id = new_id()
    database.enrolments.insert_one({
        "_id": enrolment_id,
        "hash": keys.hash_key(token),
        "staff_id": staff["_id"],
        "partner_id": staff.get("partner_id"),
        "minted_by_key_id": identity.get("key_id"),
        "minted_by_staff_id": identity.get("staff_id"),
        "created_at": now,
        "expires_at": expires_at,
    })
    if minting_key is not None and not _key_is_live(database, database.api_keys.find_one({"_id": minting_key["_id"]}), utcnow()):
        # Revoked meanwhile: what it minted goes with it.
        _claim_enrolment(database, enrolment_id, "voided", now)
        raise Unauthenticated(KEY_REFUSED)
    audit.record(database, identity, "enrolment.issued", "staff", staff["_id"], staff.get("partner_id"))
    return {"staff_id": staff["_id"], "enrolment_token": token, "enrolment_expires_at": expires_at.isoformat()}


def issue_enrolment(database, identity, staff_id):
    """A new enrolment token for a colleague at the caller's partner (any partner's staff for a
    coalition admin), e.g. after a lost key. Earlier unused tokens stop working."""
    policy.authorize(identity, "enrolment.issue")
    staff = scope.find_writable(database, "staff", identity, staff_id, "staff member")
    if not staff.get("partner_id") or staff.get("status") != "active":
        raise NotFound("No such staff member.")
    if staff_id == identity.get("staff_id"):
        # Else a key about to expire or be revoked could enrol its holder anew, outside its lineage.
        raise Conflict("You cannot enrol yourself; mint a key with the one you hold.", {"staff_id": ["That is you."]})
    if database.api_keys.count_documents({"staff_id": staff_id, "revoked_at": None, "expires_at": {"$gt": utcnow()}}):
        # Else an admin could take over a working colleague's account unnoticed: the colleague
        # sees their keys revoked first.
        raise Conflict("They still hold live keys; revoke those first.", {"staff_id": ["Holds live keys."]})
    return mint_enrolment(database, identity, staff)


def exchange_enrolment(database, token, payload=None):
    """Exchange an enrolment token for its staff member's own key (a root key: 90 days unless
    asked for less, at most a year). Each token works once; an unknown, expired, used or voided
    token, or one whose staff member or partner is no longer active, gets one answer."""
    fields = load(KeyCreateSchema(), payload or {})  # a typo must not burn the token
    now = utcnow()
    expires_at = keys.key_expiry(fields.get("expires_at"), now)
    if not isinstance(token, str) or not token or len(token) > 200:
        raise Unauthenticated(ENROLMENT_REFUSED)
    enrolment = database.enrolments.find_one({"hash": keys.hash_key(token)})
    if enrolment is None or enrolment["expires_at"] <= now:
        raise Unauthenticated(ENROLMENT_REFUSED)
    staff = database.staff.find_one({"_id": enrolment["staff_id"]})
    if staff is None or staff.get("status") != "active" or not staff.get("partner_id"):
        raise Unauthenticated(ENROLMENT_REFUSED)
    partner = database.partners.find_one({"_id": staff["partner_id"]})
    if partner is None or partner.get("status") != "active":
        raise Unauthenticated(ENROLMENT_REFUSED)
    if enrolment.get("minted_by_key_id"):
        minting_key = database.api_keys.find_one({"_id": enrolment["minted_by_key_id"]})
        if minting_key is None or minting_key.get("revoked_at") is not None:
            raise Unauthenticated(ENROLMENT_REFUSED)
    # The one step that decides: two exchanges (or an exchange and a voiding) cannot both pass.
    if not _claim_enrolment(database, enrolment["_id"], "exchanged", now):
        raise Unauthenticated(ENROLMENT_REFUSED)
    key, prefix = keys.generate_key()
    record = store_key(database, staff, key, prefix, expires_at=expires_at, label=fields.get("label"))
    holder = {"staff_id": staff["_id"], "partner_id": staff["partner_id"]}
    audit.record(database, holder, "enrolment.exchanged", "key", record["_id"], staff["partner_id"], {"staff_id": staff["_id"]})
    return dict(_shown_key(database, record), key=key)
