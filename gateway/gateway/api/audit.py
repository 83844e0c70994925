"""The audit log of privileged actions."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, page_of
from coalition_common.fields import Choice
from registry.audit import ACTIONS
from registry.schemas import AuditEntrySchema
from gateway.auth import allowed

bp = Blueprint("audit", __name__, url_prefix="/api/v1/audit", description="Audit log (coalition admins)")


class AuditQuery(PageQuery):
    action = Choice(ACTIONS, load_default=None)


@bp.route("", methods=["GET"])
@allowed("audit.read")
@bp.arguments(AuditQuery, location="query")
@bp.response(200, page_of(AuditEntrySchema))
def list_audit(query):
    """Key creation and revocation, role changes, partner suspension, charter acceptance, erasure: oldest first."""
    return as_caller("registry", "list_audit", query["cursor"], query["limit"], query["action"])
