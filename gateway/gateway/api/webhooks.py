"""A partner's webhook endpoints and their deliveries."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, page_of
from registry.schemas import DeliverySchema, WebhookSchema
from gateway.auth import allowed

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1/webhooks", description="Outbound webhooks")


@bp.route("/<string:webhook_id>", methods=["GET"])
@allowed("webhook.read")
@bp.response(200, WebhookSchema)
def get_webhook(webhook_id):
    """One webhook endpoint (never its secret)."""
    return as_caller("registry", "get_webhook", webhook_id)


@bp.route("/<string:webhook_id>", methods=["DELETE"])
@allowed("webhook.delete")
@bp.response(204)
def delete_webhook(webhook_id):
    """Stop sending to this endpoint."""
    as_caller("registry", "delete_webhook", webhook_id)


@bp.route("/<string:webhook_id>/deliveries", methods=["GET"])
@allowed("webhook.deliveries")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(DeliverySchema))
def list_deliveries(query, webhook_id):
    """Recent deliveries with their status, attempts and last HTTP status."""
    return as_caller("registry", "list_deliveries", webhook_id, query["cursor"], query["limit"])
