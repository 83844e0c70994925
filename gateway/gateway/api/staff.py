"""Staff members and their API keys."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, page_of
from gateway.api.schemas import Key, KeyCreate, NewKey, Staff, StaffUpdate
from gateway.auth import ANY_ROLE, requires_roles

bp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff members and API keys")


@bp.route("/staff/<string:staff_id>", methods=["GET"])
@requires_roles(*ANY_ROLE)
@bp.response(200, Staff)
def get_staff(staff_id):
    """A staff member of a partner the caller may see."""
    return as_caller("registry", "get_staff", staff_id)


@bp.route("/staff/<string:staff_id>", methods=["PATCH"])
@requires_roles("coalition_admin", "partner_admin")
@bp.arguments(StaffUpdate)
@bp.response(200, Staff)
def update_staff(fields, staff_id):
    """Change a staff member's name or partner roles."""
    return as_caller("registry", "update_staff", staff_id, fields)


@bp.route("/staff/<string:staff_id>", methods=["DELETE"])
@requires_roles("coalition_admin", "partner_admin")
@bp.response(204)
def erase_staff(staff_id):
    """Erase a staff member's personal data and revoke their keys."""
    as_caller("registry", "erase_staff", staff_id)


@bp.route("/staff/<string:staff_id>/keys", methods=["GET"])
@requires_roles(*ANY_ROLE)
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(Key))
def list_keys(query, staff_id):
    """A staff member's keys (prefix, dates, last use; never the key): yours, or your staff's as partner admin."""
    return as_caller("registry", "list_keys", staff_id, query["cursor"], query["limit"])


@bp.route("/staff/<string:staff_id>/keys", methods=["POST"])
@requires_roles(*ANY_ROLE)
@bp.arguments(KeyCreate)
@bp.response(201, NewKey)
def issue_key(fields, staff_id):
    """A new key, shown once, with an optional expiry."""
    return as_caller("registry", "issue_key", staff_id, fields)


@bp.route("/keys/<string:key_id>", methods=["DELETE"])
@requires_roles(*ANY_ROLE)
@bp.response(200, Key)
def revoke_key(key_id):
    """Revoke a key. The gateway stops accepting it within 30 s."""
    return as_caller("registry", "revoke_key", key_id)
