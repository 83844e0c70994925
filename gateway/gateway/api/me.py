"""Who the caller is."""
from flask import current_app
from flask_smorest import Blueprint

from gateway.api.schemas import Me
from gateway.auth import current_identity, requires_roles

bp = Blueprint("me", __name__, url_prefix="/api/v1", description="The calling staff member")


@bp.route("/me")
@requires_roles()
@bp.response(200, Me)
@bp.doc(security=[{"bearerAuth": []}])
def me():
    """The caller's staff record, partner and roles, as the registry knows them."""
    return current_app.extensions["rpc"].call("registry", "describe", current_identity())
