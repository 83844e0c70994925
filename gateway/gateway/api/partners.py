"""Partners, their charter, staff and webhooks."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, page_of
from gateway.api.schemas import (
    Charter,
    CharterAccept,
    NewWebhook,
    Partner,
    PartnerCreate,
    PartnerUpdate,
    Staff,
    StaffCreate,
    Webhook,
    WebhookCreate,
)
from gateway.auth import ANY_ROLE, requires_roles

bp = Blueprint("partners", __name__, url_prefix="/api/v1/partners", description="Partner organisations")


@bp.route("", methods=["GET"])
@requires_roles(*ANY_ROLE)
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(Partner))
def list_partners(query):
    """Partners the caller may see: all for a coalition admin, a hub and its partners for hub
    staff, otherwise the caller's own partner."""
    return as_caller("registry", "list_partners", query["cursor"], query["limit"])


@bp.route("", methods=["POST"])
@requires_roles("coalition_admin")
@bp.arguments(PartnerCreate)
@bp.response(201, Partner)
def create_partner(fields):
    """Register a partner organisation (coalition admins)."""
    return as_caller("registry", "register_partner", fields)


@bp.route("/<string:partner_id>", methods=["GET"])
@requires_roles(*ANY_ROLE)
@bp.response(200, Partner)
def get_partner(partner_id):
    """One partner. Another organisation's partner answers 404, as if it did not exist."""
    return as_caller("registry", "get_partner", partner_id)


@bp.route("/<string:partner_id>", methods=["PATCH"])
@requires_roles("coalition_admin", "partner_admin")
@bp.arguments(PartnerUpdate)
@bp.response(200, Partner)
def update_partner(fields, partner_id):
    """Change a partner's name or sectors (its own admin), region or hub (coalition admins)."""
    return as_caller("registry", "update_partner", partner_id, fields)


@bp.route("/<string:partner_id>/suspend", methods=["POST"])
@requires_roles("coalition_admin")
@bp.response(200, Partner)
def suspend_partner(partner_id):
    """Suspend a partner: every key of its staff stops working within 30 s."""
    return as_caller("registry", "set_partner_status", partner_id, "suspended")


@bp.route("/<string:partner_id>/reinstate", methods=["POST"])
@requires_roles("coalition_admin")
@bp.response(200, Partner)
def reinstate_partner(partner_id):
    """Make a suspended partner active again."""
    return as_caller("registry", "set_partner_status", partner_id, "active")


@bp.route("/<string:partner_id>/charter", methods=["GET"])
@requires_roles(*ANY_ROLE)
@bp.response(200, Charter)
def get_charter(partner_id):
    """Whether the partner has accepted the coalition charter, which version, when and by whom."""
    return as_caller("registry", "get_charter", partner_id)


@bp.route("/<string:partner_id>/charter", methods=["POST"])
@requires_roles("partner_admin")
@bp.arguments(CharterAccept)
@bp.response(201, Charter)
def accept_charter(fields, partner_id):
    """Accept the charter for your own partner; until then its mentors stay private and it
    cannot see pooled mentors."""
    return as_caller("registry", "accept_charter", partner_id, fields)


@bp.route("/<string:partner_id>/staff", methods=["GET"])
@requires_roles("coalition_admin", "partner_admin")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(Staff))
def list_staff(query, partner_id):
    """A partner's staff."""
    return as_caller("registry", "list_staff", partner_id, query["cursor"], query["limit"])


@bp.route("/<string:partner_id>/staff", methods=["POST"])
@requires_roles("coalition_admin", "partner_admin")
@bp.arguments(StaffCreate)
@bp.response(201, Staff)
def add_staff(fields, partner_id):
    """Add a staff member to a partner, with partner roles (never coalition_admin)."""
    return as_caller("registry", "add_staff", partner_id, fields)


@bp.route("/<string:partner_id>/webhooks", methods=["GET"])
@requires_roles("coalition_admin", "partner_admin")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(Webhook))
def list_webhooks(query, partner_id):
    """The partner's webhook endpoints."""
    return as_caller("registry", "list_webhooks", partner_id, query["cursor"], query["limit"])


@bp.route("/<string:partner_id>/webhooks", methods=["POST"])
@requires_roles("partner_admin")
@bp.arguments(WebhookCreate)
@bp.response(201, NewWebhook)
def register_webhook(fields, partner_id):
    """Register an HTTPS endpoint for event types of your own partner. The signing secret is
    shown once: deliveries carry `X-Coalition-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>.<body>">`."""
    return as_caller("registry", "register_webhook", partner_id, fields)
