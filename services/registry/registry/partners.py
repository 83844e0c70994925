"""Partners and their staff."""
from marshmallow import ValidationError
from pymongo.errors import DuplicateKeyError

from coalition_common.errors import Conflict, NotFound, validation_failed
from coalition_common.events import outbox_entry
from coalition_common.ids import new_id, utcnow
from coalition_common.schemas import public
from registry import keys
from registry.access import store_key
from registry.schemas import MeSchema, PartnerSchema, StaffSchema


def register_partner(database, payload):
    """Create an active partner. Returns (partner, outbox entries to publish)."""
    try:
        fields = PartnerSchema().load(payload)
    except ValidationError as err:
        raise validation_failed(err)
    if fields.get("hub_id"):
        hub = database.partners.find_one({"_id": fields["hub_id"], "kind": "regional_hub"})
        if hub is None:
            raise validation_failed(ValidationError({"hub_id": ["No such regional hub."]}))
    now = utcnow()
    partner_id = new_id()
    event = outbox_entry(
        "partner.registered",
        # ids and codes only: the reporting service never sees a name.
        {"partner_id": partner_id, "kind": fields["kind"], "region": fields["region"], "sectors": fields["sectors"]},
    )
    document = dict(fields, _id=partner_id, status="active", created_at=now, updated_at=now, outbox=[event])
    try:
        database.partners.insert_one(document)
    except DuplicateKeyError:
        raise Conflict("A partner with that name already exists.", {"name": ["Already registered."]})
    return PartnerSchema().dump(public(document)), [event]


def get_partner(database, partner_id):
    document = database.partners.find_one({"_id": partner_id}) if isinstance(partner_id, str) else None
    if document is None:
        raise NotFound("No such partner.")
    return PartnerSchema().dump(public(document))


def count_partners(database):
    return database.partners.count_documents({})


def add_staff(database, partner_id, payload):
    if database.partners.find_one({"_id": partner_id}) is None:
        raise NotFound("No such partner.")
    try:
        fields = StaffSchema().load(payload)
    except ValidationError as err:
        raise validation_failed(err)
    if "coalition_admin" in fields["roles"]:
        raise validation_failed(ValidationError({"roles": ["coalition_admin is not a partner role."]}))
    document = dict(fields, _id=new_id(), partner_id=partner_id, status="active", created_at=utcnow())
    try:
        database.staff.insert_one(document)
    except DuplicateKeyError:
        raise Conflict("A staff member with that email already exists.", {"email": ["Already registered."]})
    return StaffSchema().dump(public(document))


def issue_key(database, staff_id):
    """A new key for a staff member. The plain key is returned once and never stored."""
    staff = database.staff.find_one({"_id": staff_id})
    if staff is None:
        raise NotFound("No such staff member.")
    key, prefix = keys.generate_key()
    record = store_key(database, staff, key, prefix)
    return {"id": record["_id"], "prefix": prefix, "key": key}


def describe(database, identity):
    """What /me shows: the caller, their partner and roles."""
    staff = database.staff.find_one({"_id": identity["staff_id"]})
    if staff is None:
        raise NotFound("No such staff member.")
    partner = None
    if staff.get("partner_id"):
        partner = database.partners.find_one({"_id": staff["partner_id"]})
    return MeSchema().dump(
        {"staff": public(staff), "partner": public(partner) if partner else None, "roles": staff["roles"]}
    )
