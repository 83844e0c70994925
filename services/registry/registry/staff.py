"""Staff of partners: who they are and which roles they hold.

Every change to a staff document goes through coalition_common.revisions: FerretDB rewrites the
whole document on update, so an unclaimed write racing an erasure could bring the person back."""
import time

from pymongo.errors import PyMongoError

from coalition_common import policy, revisions
from coalition_common.errors import Conflict, NotFound
from coalition_common.fields import caseless
from coalition_common.ids import new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.pagination import page
from coalition_common.schemas import load, public
from registry import access, audit, scope
from registry.schemas import StaffSchema, StaffUpdateSchema

ERASE_ATTEMPTS = 5


def email_key(email):
    """The form in which two addresses are the same person: NFKC, case-folded. Unique per partner,
    so one partner's admin learns nothing about another partner's staff."""
    return caseless(email)


def shown(document):
    return StaffSchema().dump(public(document))


def ensure_email_keys(database):
    """Migration: staff stored before email_key existed get one. Two addresses that were distinct
    but now compare equal at one partner keep both people: the later one's key gets its id, and
    the unique index can be built. Idempotent; runs at start, before the service answers."""
    seen = set()
    for document in database.staff.find({"email_key": None}, {"partner_id": 1, "email": 1}).sort("_id", 1):
        key = email_key(document["email"])
        taken = (document.get("partner_id"), key) in seen or database.staff.find_one(
            {"partner_id": document.get("partner_id"), "email_key": key}, {"_id": 1}) is not None
        seen.add((document.get("partner_id"), key))
        database.staff.update_one({"_id": document["_id"]}, {"$set": {"email_key": f"{key}#{document['_id']}" if taken else key}})


def _partner_staff(database, identity, staff_id, find):
    """Staff endpoints manage partners' staff. Coalition admins belong to no partner and are
    managed only through the bootstrap key, so they are not found here."""
    staff = find(database, "staff", identity, staff_id, "staff member")
    if not staff.get("partner_id"):
        raise NotFound("No such staff member.")
    return staff


def _changeable_staff(database, identity, staff_id):
    """An erased staff member is gone for every change: 404, as for a deleted object."""
    staff = _partner_staff(database, identity, staff_id, scope.find_writable)
    if staff.get("status") == "erased":
        raise NotFound("No such staff member.")
    return staff


def add_staff(database, identity, partner_id, payload):
    """Add a staff member with partner roles. Returns them with `enrolment_token` (shown once)
    and `enrolment_expires_at`: they exchange the token for their own first key, so the admin
    never holds it."""
    policy.authorize(identity, "staff.add")
    scope.find_writable_partner(database, identity, partner_id)
    fields = load(StaffSchema(), payload)
    now = utcnow()
    document = dict(fields, _id=new_id(), partner_id=partner_id, email_key=email_key(fields["email"]),
                    status="active", version=1, created_at=now, updated_at=now)
    try:
        database.staff.insert_one(document)
    except PyMongoError as error:
        if not is_duplicate_key(error):
            raise
        raise Conflict("This partner already has a staff member with that email.", {"email": ["Already registered at this partner."]})
    audit.record(database, identity, "staff.created", "staff", document["_id"], partner_id, {"roles": fields["roles"]})
    enrolment = access.mint_enrolment(database, identity, document)
    return dict(shown(document), enrolment_token=enrolment["enrolment_token"],
                enrolment_expires_at=enrolment["enrolment_expires_at"])


def list_staff(database, identity, partner_id, cursor=None, limit=50):
    # A partner's people are its own business: hub staff do not list members' staff.
    scope.find_writable_partner(database, identity, partner_id)
    documents, next_cursor = page(database.staff, {"partner_id": partner_id, "status": {"$ne": "erased"}}, cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def get_staff(database, identity, staff_id):
    return shown(_partner_staff(database, identity, staff_id, scope.find_own))


def update_staff(database, identity, staff_id, payload, expected_version=None):
    """Change a staff member's name or roles. `expected_version` (from If-Match) must be the
    stored version when given (412 otherwise); a concurrent change answers 409. Privileged actions
    re-read the caller's roles, so a demotion bites at once."""
    policy.authorize(identity, "staff.update")
    staff = _changeable_staff(database, identity, staff_id)
    revisions.check_expected(staff, expected_version, "staff member")
    fields = load(StaffUpdateSchema(), payload)
    if not fields:
        return shown(staff)
    fields["updated_at"] = utcnow()
    updated = revisions.update_versioned(database.staff, staff_id, revisions.version_of(staff), fields, what="staff member")
    if "roles" in fields and not policy.allows({"roles": fields["roles"]}, "enrolment.issue"):
        # Tokens they handed out as an admin and nobody has used yet go with the role.
        access.void_enrolments(database, {"minted_by_staff_id": staff_id})
    if "roles" in fields and sorted(fields["roles"]) != sorted(staff["roles"]):
        audit.record(database, identity, "staff.roles_changed", "staff", staff_id, staff["partner_id"],
                     {"from": staff["roles"], "to": fields["roles"]})
    return shown(updated)


def erase_staff(database, identity, staff_id):
    """Erase a staff member's personal data, revoke their keys (and all those keys minted) and
    void their unused enrolment tokens; the id stays for the audit log. Returns
    `{"staff_id", "revoked_ids"}` for the lock-out announcement."""
    policy.authorize(identity, "staff.erase")
    for attempt in range(ERASE_ATTEMPTS):
        staff = _changeable_staff(database, identity, staff_id)
        if staff_id == identity.get("staff_id"):
            # Nobody erases themselves by accident and locks their partner out: another admin does it.
            raise Conflict("You cannot erase yourself; ask another partner admin.", {"staff_id": ["That is you."]})
        erased = f"erased-{staff_id}@erased.invalid"
        try:
            revisions.update_versioned(
                database.staff, staff_id, revisions.version_of(staff),
                {"name": "erased", "email": erased, "email_key": erased, "status": "erased", "updated_at": utcnow()},
                what="staff member")
            break
        except Conflict:
            # An edit won this version; erasure wins the next (or finds the person already erased).
            if attempt == ERASE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    # The status alone already refuses their keys; revoking says so in listings and kills descendants.
    revoked = access.revoke_keys(database, {"staff_id": staff_id})
    access.void_enrolments(database, {"staff_id": staff_id})
    audit.record(database, identity, "staff.erased", "staff", staff_id, staff["partner_id"])
    return {"staff_id": staff_id, "revoked_ids": revoked}
