"""Who the caller is."""
from flask_smorest import Blueprint

from gateway.api.common import as_caller
from gateway.api.schemas import Me
from gateway.auth import ANY_ROLE, requires_roles

bp = Blueprint("me", __name__, url_prefix="/api/v1", description="The calling staff member")


@bp.route("/me")
@requires_roles(*ANY_ROLE)
@bp.response(200, Me)
def me():
    """The caller's staff record, partner and roles, as the registry knows them."""
    return as_caller("registry", "describe")
