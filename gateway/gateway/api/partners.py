"""Partners, their charter, staff and webhooks."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, expected_version, page_of, versioned
from registry.schemas import CharterSchema, CharterStatusSchema, NewStaffSchema, NewWebhookSchema, PartnerAdminUpdateSchema, PartnerSchema, StaffSchema, WebhookSchema
from gateway.auth import allowed

bp = Blueprint("partners", __name__, url_prefix="/api/v1/partners", description="Partner organisations")


@bp.route("", methods=["GET"])
@allowed("partner.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(PartnerSchema))
def list_partners(query):
    """Partners the caller may see: all for a coalition admin, a hub and its partners for hub
    staff, otherwise the caller's own partner."""
    return as_caller("registry", "list_partners", query["cursor"], query["limit"])


@bp.route("", methods=["POST"])
@allowed("partner.register")
@bp.arguments(PartnerSchema)
@bp.response(201, PartnerSchema)
def create_partner(fields):
    """Register a partner organisation (coalition admins)."""
    return as_caller("registry", "register_partner", fields)


@bp.route("/<string:partner_id>", methods=["GET"])
@allowed("partner.read")
@bp.response(200, PartnerSchema)
def get_partner(partner_id):
    """One partner. Another organisation's partner answers 404, as if it did not exist."""
    return versioned(as_caller("registry", "get_partner", partner_id))


@bp.route("/<string:partner_id>", methods=["PATCH"])
@allowed("partner.update")
@bp.arguments(PartnerAdminUpdateSchema)
@bp.response(200, PartnerSchema)
def update_partner(fields, partner_id):
    """Change a partner's name or sectors (its own admin), region or hub (coalition admins).
    Send `If-Match` with the ETag you read to refuse (412) a change based on a stale copy;
    a concurrent change answers 409 either way."""
    return versioned(as_caller("registry", "update_partner", partner_id, fields, expected_version()))


@bp.route("/<string:partner_id>/suspend", methods=["POST"])
@allowed("partner.suspend")
@bp.response(200, PartnerSchema)
def suspend_partner(partner_id):
    """Suspend a partner: every key of its staff stops working at once."""
    return as_caller("registry", "suspend_partner", partner_id)


@bp.route("/<string:partner_id>/reinstate", methods=["POST"])
@allowed("partner.reinstate")
@bp.response(200, PartnerSchema)
def reinstate_partner(partner_id):
    """Make a suspended partner active again."""
    return as_caller("registry", "reinstate_partner", partner_id)


@bp.route("/<string:partner_id>/charter", methods=["GET"])
@allowed("charter.read")
@bp.response(200, CharterStatusSchema)
def get_charter(partner_id):
    """Whether the partner has accepted the coalition charter, which version, when and by whom."""
    return as_caller("registry", "get_charter", partner_id)


@bp.route("/<string:partner_id>/charter", methods=["POST"])
@allowed("charter.accept")
@bp.arguments(CharterSchema)
@bp.response(201, CharterStatusSchema)
def accept_charter(fields, partner_id):
    """Accept the charter for your own partner; until then its mentors stay private and it
    cannot see pooled mentors."""
    return as_caller("registry", "accept_charter", partner_id, fields)


@bp.route("/<string:partner_id>/staff", methods=["GET"])
@allowed("staff.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(StaffSchema))
def list_staff(query, partner_id):
    """A partner's staff."""
    return as_caller("registry", "list_staff", partner_id, query["cursor"], query["limit"])


@bp.route("/<string:partner_id>/staff", methods=["POST"])
@allowed("staff.add")
@bp.arguments(StaffSchema)
@bp.response(201, NewStaffSchema)
def add_staff(fields, partner_id):
    """Add a staff member to a partner, with partner roles (never coalition_admin). The answer
    carries their single-use enrolment token (72 h), shown once: hand it to them; they exchange it
    for their own first key, so nobody else ever holds it."""
    return as_caller("registry", "add_staff", partner_id, fields)


@bp.route("/<string:partner_id>/webhooks", methods=["GET"])
@allowed("webhook.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(WebhookSchema))
def list_webhooks(query, partner_id):
    """The partner's webhook endpoints."""
    return as_caller("registry", "list_webhooks", partner_id, query["cursor"], query["limit"])


@bp.route("/<string:partner_id>/webhooks", methods=["POST"])
@allowed("webhook.register")
@bp.arguments(WebhookSchema)
@bp.response(201, NewWebhookSchema)
def register_webhook(fields, partner_id):
    """Register an HTTPS endpoint for event types of your own partner. The signing secret is
    shown once: deliveries carry `X-Coalition-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
    "<t>.<body>">`."""
    return as_caller("registry", "register_webhook", partner_id, fields)
