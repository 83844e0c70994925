"""Partners, their charter acceptance, and what /me shows."""
from marshmallow import ValidationError
from pymongo.errors import DuplicateKeyError, PyMongoError

from coalition_common.errors import Conflict, Forbidden, NotFound, validation_failed
from coalition_common.events import outbox_entry
from coalition_common.ids import new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.pagination import page
from coalition_common.schemas import load, public
from registry import audit, scope
from registry.schemas import (
    CHARTER_VERSION,
    CharterSchema,
    MeSchema,
    PartnerAdminUpdateSchema,
    PartnerSchema,
    PartnerUpdateSchema,
)


def _check_hub(database, hub_id):
    if hub_id and database.partners.find_one({"_id": hub_id, "kind": "regional_hub"}) is None:
        raise validation_failed(ValidationError({"hub_id": ["No such regional hub."]}))


def shown(document):
    document = public(document)
    if document.get("charter"):
        charter = dict(document["charter"])
        charter["accepted_at"] = charter["accepted_at"].isoformat()
        document["charter"] = charter
    return PartnerSchema().dump(document)


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
    document = dict(fields, _id=partner_id, status="active", charter=None, created_at=now, updated_at=now, outbox=[event])
    try:
        database.partners.insert_one(document)
    except DuplicateKeyError:
        raise Conflict("A partner with that name already exists.", {"name": ["Already registered."]})
    audit.record(database, identity, "partner.registered", "partner", partner_id, partner_id)
    return shown(document), [event]


def get_partner(database, identity, partner_id):
    return shown(scope.find_readable_partner(database, identity, partner_id))


def list_partners(database, identity, cursor=None, limit=50):
    documents, next_cursor = page(database.partners, scope.readable_partner_query(identity), cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def update_partner(database, identity, partner_id, payload):
    partner = scope.find_writable_partner(database, identity, partner_id)
    schema = PartnerAdminUpdateSchema() if scope.is_admin(identity) else PartnerUpdateSchema()
    fields = load(schema, payload)
    if "hub_id" in fields:
        _check_hub(database, fields["hub_id"])
        if fields["hub_id"] == partner_id:
            raise validation_failed(ValidationError({"hub_id": ["A partner cannot report to itself."]}))
    if not fields:
        return shown(partner)
    fields["updated_at"] = utcnow()
    try:
        database.partners.update_one({"_id": partner_id}, {"$set": fields})
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise
        raise Conflict("A partner with that name already exists.", {"name": ["Already registered."]})
    audit.record(database, identity, "partner.updated", "partner", partner_id, partner_id, {"fields": sorted(k for k in fields if k != "updated_at")})
    return shown(database.partners.find_one({"_id": partner_id}))


def set_partner_status(database, identity, partner_id, status):
    """Suspend or reinstate. Suspension blocks every key of the partner at once, because
    authentication checks the partner's status on each (uncached) lookup."""
    scope.find_readable_partner(database, identity, partner_id)
    database.partners.update_one({"_id": partner_id}, {"$set": {"status": status, "updated_at": utcnow()}})
    audit.record(database, identity, "partner.suspended" if status == "suspended" else "partner.reinstated", "partner", partner_id, partner_id)
    return shown(database.partners.find_one({"_id": partner_id}))


def accept_charter(database, identity, partner_id, payload):
    """Record that a partner joined the shared mentor pool: charter version, time and who accepted."""
    scope.find_writable_partner(database, identity, partner_id)
    if identity.get("partner_id") != partner_id:
        raise Forbidden("Only the partner's own admin accepts its charter.")
    fields = load(CharterSchema(), payload)
    charter = {"version": fields["version"], "accepted_at": utcnow(), "accepted_by": identity["staff_id"]}
    # The mentor bank learns of it by event: the partner's mentors join the shared pool.
    event = outbox_entry("charter.accepted", {"partner_id": partner_id, "version": fields["version"]})
    result = database.partners.update_one(
        {"_id": partner_id, "charter": None},
        {"$set": {"charter": charter, "updated_at": utcnow()}, "$push": {"outbox": event}},
    )
    if result.modified_count == 0:
        raise Conflict("The charter was already accepted.", {"version": ["Already accepted."]})
    audit.record(database, identity, "charter.accepted", "partner", partner_id, partner_id, {"version": fields["version"]})
    return get_charter(database, identity, partner_id), [event]


def get_charter(database, identity, partner_id):
    partner = scope.find_readable_partner(database, identity, partner_id)
    charter = partner.get("charter")
    return {
        "partner_id": partner_id,
        "current_version": CHARTER_VERSION,
        "accepted": charter is not None,
        "version": charter["version"] if charter else None,
        "accepted_at": charter["accepted_at"].isoformat() if charter else None,
        "accepted_by": charter["accepted_by"] if charter else None,
    }


def count_partners(database):
    return database.partners.count_documents({})


def describe(database, identity):
    """What /me shows: the caller, their partner and roles."""
    staff = database.staff.find_one({"_id": identity["staff_id"]})
    if staff is None:
        raise NotFound("No such staff member.")
    partner = database.partners.find_one({"_id": staff["partner_id"]}) if staff.get("partner_id") else None
    return MeSchema().dump({"staff": public(staff), "partner": public(partner) if partner else None, "roles": staff["roles"]})
