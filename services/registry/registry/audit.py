"""The audit log of privileged actions. Entries name actors and targets by id, never by name."""
from coalition_common.errors import Forbidden
from coalition_common.ids import new_id, utcnow
from coalition_common.pagination import page

ACTIONS = (
    "key.created", "key.revoked", "key.bootstrapped", "enrolment.issued", "enrolment.exchanged",
    "staff.created", "staff.roles_changed", "staff.erased",
    "partner.registered", "partner.suspended", "partner.reinstated", "partner.updated", "charter.accepted",
    "webhook.created", "webhook.deleted",
)


def record(database, identity, action, target_type, target_id, partner_id=None, details=None):
    assert action in ACTIONS, action
    database.audit.insert_one({
        "_id": new_id(),
        "at": utcnow(),
        "action": action,
        "actor_staff_id": (identity or {}).get("staff_id"),
        "actor_partner_id": (identity or {}).get("partner_id"),
        "target_type": target_type,
        "target_id": target_id,
        "partner_id": partner_id,
        "details": details or {},
    })


def list_entries(database, identity, cursor=None, limit=50, action=None):
    # The gateway checks the role too; the registry does not rely on it.
    if "coalition_admin" not in identity.get("roles", ()):
        raise Forbidden("Only coalition admins read the audit log.")
    query = {"action": action} if action else {}
    entries, next_cursor = page(database.audit, query, cursor, limit)
    for entry in entries:
        entry["id"] = entry.pop("_id")
        entry["at"] = entry["at"].isoformat()
    return {"items": entries, "next_cursor": next_cursor}
