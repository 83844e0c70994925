"""Dead letters: events a service could not apply, for coalition admins to see and replay.

The gateway reads and replays them on the broker itself (coalition_common.dead_letters); no
service is involved. A letter shows where the event came from and why it failed (the error's
type only), never the event's content."""
from amqp.exceptions import AMQPError
from flask import current_app
from flask_smorest import Blueprint
from kombu.exceptions import OperationalError
from marshmallow import Schema, fields, validate

from coalition_common import dead_letters
from coalition_common.errors import Conflict, NotFound
from coalition_common.schemas import StrictSchema
from gateway.auth import allowed
from gateway.rpc import ServiceUnavailable

bp = Blueprint("dead_letters", __name__, url_prefix="/api/v1/dead-letters",
               description="Events no service could apply (coalition admins)")

MAX_LIST = 500


class DeadLetter(Schema):
    event_id = fields.String(allow_none=True)
    event_type = fields.String(allow_none=True)
    source_service = fields.String(allow_none=True, metadata={"description": "The service that published the event"})
    service = fields.String(allow_none=True, metadata={"description": "The service that could not apply it"})
    handler = fields.String(allow_none=True)
    queue = fields.String(allow_none=True, metadata={"description": "Where a replay sends it"})
    error = fields.String(allow_none=True, metadata={"description": "The error's type, e.g. builtins.KeyError"})
    attempts = fields.Integer(allow_none=True)
    dead_lettered_at = fields.String(allow_none=True, metadata={"description": "ISO 8601"})


class DeadLetterList(Schema):
    items = fields.List(fields.Nested(DeadLetter))


class DeadLetterQuery(StrictSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=MAX_LIST))


class Replayed(Schema):
    event_id = fields.String()
    replayed = fields.Boolean()


def on_broker(action, *args):
    try:
        return action(current_app.extensions["rpc"].amqp_uri, *args)
    except (OSError, AMQPError, OperationalError) as exc:
        raise ServiceUnavailable("broker", type(exc).__name__)


@bp.route("", methods=["GET"])
@allowed("dead_letter.list")
@bp.arguments(DeadLetterQuery, location="query")
@bp.response(200, DeadLetterList)
def list_dead_letters(query):
    """The oldest dead letters, left in place. A letter being replayed at that moment is not shown."""
    return {"items": on_broker(dead_letters.list_dead_letters, query["limit"])}


@bp.route("/<string:event_id>/replay", methods=["POST"])
@allowed("dead_letter.replay")
@bp.response(200, Replayed)
def replay(event_id):
    """Send the event back to the queue of the service that failed to apply it, as it first came,
    with a fresh retry budget; fix the fault first. Services apply each event once, so replaying
    an event that was in fact applied changes nothing."""
    try:
        found = on_broker(dead_letters.replay, event_id)
    except dead_letters.Unroutable:
        raise Conflict("The queue this event came from no longer exists; the dead letter is kept.")
    if not found:
        raise NotFound("No dead letter for this event.")
    return {"event_id": event_id, "replayed": True}
