"""Staff of partners: who they are and which roles they hold."""
from pymongo.errors import DuplicateKeyError

from coalition_common.errors import Conflict, NotFound
from coalition_common.ids import new_id, utcnow
from coalition_common.pagination import page
from coalition_common.schemas import load, public
from registry import audit, scope
from registry.schemas import StaffSchema, StaffUpdateSchema


def shown(document):
    return StaffSchema().dump(public(document))


def _partner_staff(database, identity, staff_id, find):
    """Staff endpoints manage partners' staff. Coalition admins belong to no partner and are
    managed only through the bootstrap key, so they are not found here."""
    staff = find(database, "staff", identity, staff_id, "staff member")
    if not staff.get("partner_id"):
        raise NotFound("No such staff member.")
    return staff


def add_staff(database, identity, partner_id, payload):
    scope.find_writable_partner(database, identity, partner_id)
    fields = load(StaffSchema(), payload)
    now = utcnow()
    document = dict(fields, _id=new_id(), partner_id=partner_id, status="active", created_at=now, updated_at=now)
    try:
        database.staff.insert_one(document)
    except DuplicateKeyError:
        raise Conflict("A staff member with that email already exists.", {"email": ["Already registered."]})
    audit.record(database, identity, "staff.created", "staff", document["_id"], partner_id, {"roles": fields["roles"]})
    return shown(document)


def list_staff(database, identity, partner_id, cursor=None, limit=50):
    scope.find_readable_partner(database, identity, partner_id)
    documents, next_cursor = page(database.staff, {"partner_id": partner_id, "status": {"$ne": "erased"}}, cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def get_staff(database, identity, staff_id):
    return shown(_partner_staff(database, identity, staff_id, scope.find_readable))


def update_staff(database, identity, staff_id, payload):
    staff = _partner_staff(database, identity, staff_id, scope.find_writable)
    fields = load(StaffUpdateSchema(), payload)
    if not fields:
        return shown(staff)
    fields["updated_at"] = utcnow()
    database.staff.update_one({"_id": staff_id, "status": "active"}, {"$set": fields})
    if "roles" in fields and sorted(fields["roles"]) != sorted(staff["roles"]):
        audit.record(database, identity, "staff.roles_changed", "staff", staff_id, staff["partner_id"],
                     {"from": staff["roles"], "to": fields["roles"]})
    return shown(database.staff.find_one({"_id": staff_id}))


def erase_staff(database, identity, staff_id):
    """Erase a staff member's personal data and revoke their keys; the id stays for the audit log."""
    staff = _partner_staff(database, identity, staff_id, scope.find_writable)
    if staff_id == identity.get("staff_id"):
        # Nobody erases themselves by accident and locks their partner out: another admin does it.
        raise Conflict("You cannot erase yourself; ask another partner admin.", {"staff_id": ["That is you."]})
    now = utcnow()
    database.api_keys.update_many({"staff_id": staff_id, "revoked_at": None}, {"$set": {"revoked_at": now}})
    database.staff.update_one(
        {"_id": staff_id},
        {"$set": {"name": "erased", "email": f"erased-{staff_id}@erased.invalid", "status": "erased", "roles": staff["roles"], "updated_at": now}},
    )
    audit.record(database, identity, "staff.erased", "staff", staff_id, staff["partner_id"])
