"""Who the caller is."""
from flask_smorest import Blueprint

from gateway.api.common import as_caller
from registry.schemas import MeSchema
from gateway.auth import allowed

bp = Blueprint("me", __name__, url_prefix="/api/v1", description="The calling staff member")


@bp.route("/me")
@allowed("me.read")
@bp.response(200, MeSchema)
def me():
    """The caller's staff record, partner and roles, as the registry knows them."""
    return as_caller("registry", "describe")
