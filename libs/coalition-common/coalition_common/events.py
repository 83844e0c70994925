"""Events that are neither lost nor applied twice.

- Publishers write the event into the same document as the change (a same-document outbox,
  since there are no multi-document transactions), publish with confirms, then clear it.
  A timer relays whatever a crash or a broker outage left behind.
- Consumer queues are durable and declared by the publisher up front, so an event published
  before its consumer first starts is kept, not dropped.
- Consumers requeue on a transient failure (database or broker away) and store what they apply
  under the event id, so redelivery is harmless.
"""
import datetime
import logging

from kombu import Connection, Queue
from nameko.events import SERVICE_POOL, EventDispatcher, EventHandler
from nameko.exceptions import RpcTimeout
from nameko.standalone.events import get_event_exchange
from pymongo.errors import ConnectionFailure

from coalition_common import config
from coalition_common.ids import new_id, utcnow
from coalition_common.topology import SUBSCRIPTIONS

log = logging.getLogger(__name__)

TRANSIENT = (ConnectionFailure, RpcTimeout, ConnectionError, OSError)


def consumer_queue(source_service, event_type, consumer_service, method_name):
    """The queue nameko's SERVICE_POOL event handler consumes from, declared identically."""
    name = f"evt-{source_service}-{event_type}--{consumer_service}.{method_name}"
    return Queue(
        name,
        exchange=get_event_exchange(source_service),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
        exclusive=False,
    )


def declare_consumer_queues(source_service, amqp_uri=None):
    """Declare (idempotently) every consumer queue for events this service publishes."""
    queues = [consumer_queue(*s) for s in SUBSCRIPTIONS if s[0] == source_service]
    if not queues:
        return []
    with Connection(amqp_uri or config.amqp_uri(), connect_timeout=5) as conn:
        channel = conn.channel()
        for queue in queues:
            queue(channel).declare()
    return [q.name for q in queues]


class DeclaringEventDispatcher(EventDispatcher):
    """EventDispatcher that declares its subscribers' durable queues when the service starts."""

    def setup(self):
        super().setup()
        from nameko import config as nameko_config

        declare_consumer_queues(self.container.service_name, nameko_config.get("AMQP_URI"))


def outbox_entry(event_type, payload):
    """An event to store in the changed document's `outbox` array, in the same write.

    The time is cut to milliseconds, as BSON stores it, so the entry read back equals this one:
    FerretDB 1.x only $pulls array elements by whole-element equality."""
    created_at = utcnow()
    created_at = created_at.replace(microsecond=created_at.microsecond // 1000 * 1000)
    return {"event_id": new_id(), "type": event_type, "payload": payload, "created_at": created_at}


def publish_outbox(collection, document_id, entries, dispatch):
    """Publish stored entries, then remove each from its document. A failure leaves the entry
    for the relay, so the change is never silently left without its event."""
    published = 0
    for entry in entries:
        try:
            dispatch(entry["type"], dict(entry["payload"], event_id=entry["event_id"]))
        except Exception:
            log.warning("event %s left in outbox for the relay", entry["event_id"], exc_info=True)
            return published
        collection.update_one({"_id": document_id}, {"$pull": {"outbox": entry}})
        published += 1
    return published


def relay_outbox(collection, dispatch, older_than_seconds=5, limit=200):
    """Publish entries left behind by a crash or outage. Returns how many were published."""
    cutoff = utcnow() - datetime.timedelta(seconds=older_than_seconds)
    published = 0
    for document in collection.find(
        # One condition on the array, so the dotted form means the same as $elemMatch, which
        # FerretDB 1.x answers with no documents.
        {"outbox.created_at": {"$lt": cutoff}}, {"outbox": 1}
    ).limit(limit):
        published += publish_outbox(collection, document["_id"], document["outbox"], dispatch)
    return published


class ReliableEventHandler(EventHandler):
    """A durable SERVICE_POOL handler that requeues on transient failures and acks otherwise.

    nameko's plain handler acks even when the worker failed, which would lose an event every
    time the database restarts."""

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("handler_type", SERVICE_POOL)
        kwargs.setdefault("reliable_delivery", True)
        super().__init__(source_service, event_type, **kwargs)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is not None and isinstance(exc_info[1], TRANSIENT):
            self.consumer.requeue_message(message)
        else:
            self.consumer.ack_message(message)


reliable_event_handler = ReliableEventHandler.decorator
