"""StaffSchema members and their API keys."""
from flask import current_app
from flask_smorest import Blueprint

from coalition_common.errors import Unauthenticated
from gateway.api.common import PageQuery, as_caller, expected_version, page_of, to_wire, versioned
from registry.schemas import EnrolmentExchangeSchema, EnrolmentSchema, KeyCreateSchema, KeySchema, NewKeySchema, StaffSchema, StaffUpdateSchema
from gateway.auth import allowed, client_address

bp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff members and API keys")


@bp.route("/staff/<string:staff_id>", methods=["GET"])
@allowed("staff.read")
@bp.response(200, StaffSchema)
def get_staff(staff_id):
    """A staff member of a partner the caller may see."""
    return versioned(as_caller("registry", "get_staff", staff_id))


@bp.route("/staff/<string:staff_id>", methods=["PATCH"])
@allowed("staff.update")
@bp.arguments(StaffUpdateSchema)
@bp.response(200, StaffSchema)
def update_staff(fields, staff_id):
    """Change a staff member's name or partner roles."""
    return versioned(as_caller("registry", "update_staff", staff_id, fields, expected_version()))


@bp.route("/staff/<string:staff_id>", methods=["DELETE"])
@allowed("staff.erase")
@bp.response(204)
def erase_staff(staff_id):
    """Erase a staff member's personal data and revoke their keys."""
    as_caller("registry", "erase_staff", staff_id)


@bp.route("/staff/<string:staff_id>/keys", methods=["GET"])
@allowed("key.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(KeySchema))
def list_keys(query, staff_id):
    """A staff member's keys (prefix, dates, last use; never the key): yours, or your staff's as partner admin."""
    return as_caller("registry", "list_keys", staff_id, query["cursor"], query["limit"])


@bp.route("/staff/<string:staff_id>/keys", methods=["POST"])
@allowed("key.issue")
@bp.arguments(KeyCreateSchema)
@bp.response(201, NewKeySchema)
def issue_key(fields, staff_id):
    """A new key for yourself, shown once. It expires after 90 days unless you ask for less (at
    most a year), and never after the key you are using."""
    return as_caller("registry", "issue_key", staff_id, fields)


@bp.route("/keys/<string:key_id>", methods=["DELETE"])
@allowed("key.revoke")
@bp.response(200, KeySchema)
def revoke_key(key_id):
    """Revoke a key (yours, or a colleague's as partner admin). It stops working at once, and so
    does every key it minted."""
    return as_caller("registry", "revoke_key", key_id)


@bp.route("/staff/<string:staff_id>/enrolment", methods=["POST"])
@allowed("enrolment.issue")
@bp.response(201, EnrolmentSchema)
def issue_enrolment(staff_id):
    """A new single-use enrolment token (valid 72 h) for a colleague who has no key yet or lost
    it; earlier unused tokens stop working. Hand it over; they exchange it for their own key."""
    return as_caller("registry", "issue_enrolment", staff_id)


@bp.route("/enrolments", methods=["POST"])
@bp.arguments(EnrolmentExchangeSchema)
@bp.response(201, NewKeySchema)
@bp.doc(security=[])
def exchange_enrolment(fields):
    """Exchange your enrolment token (given when your account was created) for your first key.
    Each token works once; failed attempts count against your address's allowance."""
    limits = current_app.extensions["limits"]
    address = client_address()
    token = fields.pop("token")
    with limits.lookup(address):
        try:
            return current_app.extensions["rpc"].call("registry", "exchange_enrolment", token, to_wire(fields))
        except Unauthenticated:
            limits.record_failed(address)
            raise
