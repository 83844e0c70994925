"""Partners of the coalition."""
from flask import current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate

from coalition_common import codes
from coalition_common.errors import NotFound
from coalition_common.schemas import StrictSchema
from gateway.api.schemas import PartnerSummary
from gateway.auth import current_identity, requires_roles

bp = Blueprint("partners", __name__, url_prefix="/api/v1/partners", description="Partner organisations")

PARTNER_KINDS = ("ngo", "employer", "industry_association", "public_body", "education", "regional_hub")


class PartnerCreate(StrictSchema):
    """Only what a caller may set: id, status and timestamps are the server's."""

    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))
    sectors = fields.List(codes.isco_group(), load_default=list, validate=validate.Length(max=50))
    region = codes.region(required=True)
    hub_id = fields.String(load_default=None, allow_none=True)


def visible_to(identity, partner):
    """Object-level rule: admins see every partner; staff see their own partner, and a hub's
    staff see the partners that report to it."""
    if "coalition_admin" in identity["roles"]:
        return True
    if partner["id"] == identity.get("partner_id"):
        return True
    return identity.get("hub_id") is not None and identity.get("hub_id") == identity.get("partner_id") and partner.get("hub_id") == identity["hub_id"]


@bp.route("", methods=["POST"])
@requires_roles("coalition_admin")
@bp.arguments(PartnerCreate)
@bp.response(201, PartnerSummary)
@bp.doc(security=[{"bearerAuth": []}])
def create_partner(fields):
    """Register a partner organisation (coalition admins only)."""
    return current_app.extensions["rpc"].call("registry", "register_partner", fields)


@bp.route("/<string:partner_id>")
@requires_roles()
@bp.response(200, PartnerSummary)
@bp.doc(security=[{"bearerAuth": []}])
def get_partner(partner_id):
    """One partner. Another organisation's partner answers 404, as if it did not exist."""
    identity = current_identity()
    partner = current_app.extensions["rpc"].call("registry", "get_partner", partner_id)
    if not visible_to(identity, partner):
        raise NotFound("No such partner.")
    return partner
