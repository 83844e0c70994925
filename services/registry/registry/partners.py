"""Partners, their charter acceptance, and what /me shows.

Every change goes through coalition_common.revisions, so of two concurrent changes to one
partner exactly one is applied and the other answers 409."""
import logging

from marshmallow import ValidationError
from pymongo.errors import PyMongoError

from coalition_common.errors import Conflict, Forbidden, NotFound, ValidationFailed, validation_failed
from coalition_common.events import outbox_entry
from coalition_common.fields import caseless
from coalition_common.ids import new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.pagination import page
from coalition_common.revisions import check_expected, update_versioned, version_of
from coalition_common.schemas import load, public
from registry import audit, scope
from registry.schemas import (
    CHARTER_VERSION,
    PARTNER_STATUSES,
    CharterSchema,
    MeSchema,
    PartnerAdminUpdateSchema,
    PartnerSchema,
    PartnerUpdateSchema,
)

log = logging.getLogger(__name__)

def name_key(name):
    """What makes two partner names the same: compared case-insensitively ("Harbour" and
    "HARBOUR")."""
    return caseless(name)


def _name_taken():
    return Conflict("A partner with that name already exists.", {"name": ["Already registered."]})


def _check_hub(database, hub_id):
    if hub_id and database.partners.find_one({"_id": hub_id, "kind": "regional_hub"}) is None:
        raise validation_failed(ValidationError({"hub_id": ["No such regional hub."]}))


def shown(document):
    return PartnerSchema().dump(public(document))


def register_partner(database, identity, payload):
    """Create an active partner. Returns (partner, outbox entries to publish)."""
    fields = load(PartnerSchema(), payload)
    _check_hub(database, fields.get("hub_id"))
    now = utcnow()
    partner_id = new_id()
    event = outbox_entry(
        "partner.registered",
        # ids and codes only: the reporting service never sees a name.
        {"partner_id": partner_id, "kind": fields["kind"], "region": fields["region"], "sectors": fields["sectors"]},
    )
    document = dict(fields, _id=partner_id, name_key=name_key(fields["name"]), status="active", charter=None,
                    version=1, created_at=now, updated_at=now, outbox=[event])
    try:
        database.partners.insert_one(document)
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise
        raise _name_taken()
    audit.record(database, identity, "partner.registered", "partner", partner_id, partner_id)
    return shown(document), [event]


def get_partner(database, identity, partner_id):
    return shown(scope.find_readable_partner(database, identity, partner_id))


def list_partners(database, identity, cursor=None, limit=50):
    documents, next_cursor = page(database.partners, scope.readable_partner_query(identity), cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def update_partner(database, identity, partner_id, payload, expected_version=None):
    """Change what the caller may change. `expected_version` is the version the caller last read
    (If-Match): another one answers 412."""
    partner = scope.find_writable_partner(database, identity, partner_id)
    check_expected(partner, expected_version, "partner")
    schema = PartnerAdminUpdateSchema() if scope.is_admin(identity) else PartnerUpdateSchema()
    fields = load(schema, payload)
    if "hub_id" in fields:
        _check_hub(database, fields["hub_id"])
        if fields["hub_id"] == partner_id:
            raise validation_failed(ValidationError({"hub_id": ["A partner cannot report to itself."]}))
    if not fields:
        return shown(partner)
    changed = sorted(fields)
    if "name" in fields:
        fields["name_key"] = name_key(fields["name"])
    fields["updated_at"] = utcnow()
    try:
        updated = update_versioned(database.partners, partner_id, version_of(partner), fields, what="partner")
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise
        raise _name_taken()
    audit.record(database, identity, "partner.updated", "partner", partner_id, partner_id, {"fields": changed})
    return shown(updated)


def set_partner_status(database, identity, partner_id, status):
    """Suspend or reinstate. Suspension blocks every key of the partner at once, because
    authentication checks the partner's status on each (uncached) lookup. Asking for the status
    the partner already has is a 409, so of concurrent identical requests exactly one succeeds."""
    if status not in PARTNER_STATUSES:
        raise ValidationFailed("Unknown partner status.", {"status": [f"Must be one of: {', '.join(PARTNER_STATUSES)}."]})
    partner = scope.find_writable_partner(database, identity, partner_id)
    if partner.get("status") == status:
        raise Conflict(f"The partner is already {status}.", {"status": [f"Already {status}."]})
    updated = update_versioned(database.partners, partner_id, version_of(partner), {"status": status, "updated_at": utcnow()}, what="partner")
    audit.record(database, identity, "partner.suspended" if status == "suspended" else "partner.reinstated", "partner", partner_id, partner_id)
    return shown(updated)


def accept_charter(database, identity, partner_id, payload):
    """Record that a partner joined the shared mentor pool: charter version, time and who accepted."""
    partner = scope.find_writable_partner(database, identity, partner_id)
    if identity.get("partner_id") != partner_id:
        raise Forbidden("Only the partner's own admin accepts its charter.")
    fields = load(CharterSchema(), payload)
    if partner.get("charter") is not None:
        raise Conflict("The charter was already accepted.", {"version": ["Already accepted."]})
    charter = {"version": fields["version"], "accepted_at": utcnow(), "accepted_by": identity["staff_id"]}
    # The mentor bank learns of it by event: the partner's mentors join the shared pool.
    event = outbox_entry("charter.accepted", {"partner_id": partner_id, "version": fields["version"]})
    updated = update_versioned(
        database.partners, partner_id, version_of(partner), {"charter": charter, "updated_at": utcnow()},
        push={"outbox": event}, what="partner",
    )
    audit.record(database, identity, "charter.accepted", "partner", partner_id, partner_id, {"version": fields["version"]})
    return _charter_shown(updated), [event]


def get_charter(database, identity, partner_id):
    return _charter_shown(scope.find_readable_partner(database, identity, partner_id))


def _charter_shown(partner):
    charter = partner.get("charter")
    return {
        "partner_id": partner["_id"],
        "current_version": CHARTER_VERSION,
        "accepted": charter is not None,
        "version": charter["version"] if charter else None,
        "accepted_at": charter["accepted_at"].isoformat() if charter else None,
        "accepted_by": charter["accepted_by"] if charter else None,
    }


def ensure_name_keys(database):
    """Migration: partners stored before names were compared case-insensitively get their
    `name_key`. Should two old names now collide, the later one's key is kept apart by its id so
    the unique index can still be built; the next rename of either is checked as usual."""
    taken = {p["name_key"] for p in database.partners.find({"name_key": {"$ne": None}}, {"name_key": 1})}
    for partner in database.partners.find({"name_key": None}, {"name": 1}).sort("_id", 1):
        key = name_key(partner["name"])
        if key in taken:
            log.warning("partner %s has a name that differs from another only in case", partner["_id"])
            key = f"{key}#{partner['_id']}"
        taken.add(key)
        database.partners.update_one({"_id": partner["_id"]}, {"$set": {"name_key": key}})


def count_partners(database):
    return database.partners.count_documents({})


def describe(database, identity):
    """What /me shows: the caller, their partner and roles."""
    staff = database.staff.find_one({"_id": identity["staff_id"]})
    if staff is None:
        raise NotFound("No such staff member.")
    partner = database.partners.find_one({"_id": staff["partner_id"]}) if staff.get("partner_id") else None
    return MeSchema().dump({"staff": public(staff), "partner": public(partner) if partner else None, "roles": staff["roles"]})
