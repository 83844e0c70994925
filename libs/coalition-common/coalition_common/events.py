"""Events that are neither lost nor applied twice.

- Publishers write the event into the same document as the change (a same-document outbox,
  since there are no multi-document transactions), publish with confirms, then clear it.
  A timer relays whatever a crash or a broker outage left behind.
- Consumer queues are durable and declared by the publisher up front, so an event published
  before its consumer first starts is kept, not dropped.
- Publishes are mandatory, and a publisher refuses to start while a type it publishes has no
  queue: an event no queue takes fails its publish and stays in the outbox.
- Consumers retry a transient failure (database or broker away) with a growing wait, a bounded
  number of times; after that, and at once for any other failure, the event goes to the
  dead-letter queue for an operator (coalition_common.dead_letters). Consumers store what they
  apply under the event id, so redelivery is harmless.
"""
import datetime
import functools
import logging
import os
import time

from kombu import Connection, Queue
from nameko.amqp.publish import Publisher as AmqpPublisher
from nameko.amqp.publish import UndeliverableMessage, get_producer
from nameko.events import SERVICE_POOL, EventDispatcher, EventHandler
from nameko.exceptions import RpcTimeout
from nameko.standalone.events import get_event_exchange
from pymongo.errors import ConnectionFailure

from coalition_common import config, dead_letters, identity
from coalition_common.errors import Unauthenticated
from coalition_common.ids import as_stored, new_id, utcnow
from coalition_common.topology import SUBSCRIPTIONS, TopologyError, unsubscribed_types

log = logging.getLogger(__name__)

TRANSIENT = (ConnectionFailure, RpcTimeout, ConnectionError, OSError)
MAX_RETRY_DELAY = 60.0


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


class MandatoryPublisher(AmqpPublisher):
    """nameko's publisher with every message mandatory and confirmed: a message no queue takes
    raises UndeliverableMessage instead of vanishing.

    nameko's own publisher lets the broker's return raise in the middle of waiting for the
    confirm; that confirm is then left unread on the pooled channel and "confirms" the next
    message before the broker has it. Here a handler collects the return while the confirm is read."""

    mandatory = True
    use_confirms = True

    def publish(self, payload, **kwargs):
        options = self.publish_kwargs.copy()
        headers = options.pop("headers", {}).copy()
        headers.update(kwargs.pop("headers", {}))
        headers.update(kwargs.pop("extra_headers", {}))
        declare = self.declare[:] + list(kwargs.pop("declare", ()))
        options.update(kwargs)
        # The caller's signed identity stays with the call: events go to every consumer and may
        # end up in the dead-letter queue. The event itself is signed instead.
        headers.pop(f"nameko.{identity.CONTEXT_KEY}", None)
        headers.update(identity.event_headers(options["exchange"].name.removesuffix(".events"), options["routing_key"], payload))
        returned = []

        def on_return(exc, exchange, routing_key, message):
            returned.append(routing_key)

        with get_producer(self.amqp_uri, True, self.ssl, self.login_method, self.transport_options.copy()) as producer:
            producer.on_return = on_return  # kombu adds it to a new channel should the publish reconnect
            producer.channel.events["basic_return"].add(on_return)
            try:
                producer.publish(
                    payload, headers=headers, delivery_mode=self.delivery_mode, mandatory=True,
                    priority=self.priority, expiration=self.expiration, compression=self.compression,
                    declare=declare, retry=self.retry, retry_policy=self.retry_policy,
                    serializer=self.serializer, **options,
                )
            finally:
                producer.on_return = None
                producer.channel.events["basic_return"].discard(on_return)
        if returned:
            raise UndeliverableMessage(f"no queue is bound for {returned[0]!r}")


class DeclaringEventDispatcher(EventDispatcher):
    """EventDispatcher that publishes mandatory and, when the service starts, refuses to run if
    a type the service publishes (topology.PUBLISHES) has no subscriber, then declares its
    subscribers' durable queues."""

    publisher_cls = MandatoryPublisher

    def setup(self):
        service_name = self.container.service_name
        missing = unsubscribed_types(service_name)
        if missing:
            raise TopologyError(f"{service_name} publishes {', '.join(missing)} but no queue subscribes to it "
                                "(coalition_common.topology.SUBSCRIPTIONS)")
        super().setup()
        from nameko import config as nameko_config

        declare_consumer_queues(service_name, nameko_config.get("AMQP_URI"))


def outbox_entry(event_type, payload):
    """An event to store in the changed document's `outbox` array, in the same write.

    The time is cut to milliseconds, as BSON stores it, so the entry read back equals this one:
    FerretDB 1.x only $pulls array elements by whole-element equality."""
    return {"event_id": new_id(), "type": event_type, "payload": payload, "created_at": as_stored(utcnow())}


def pull_entry(collection, document_id, entry):
    collection.update_one({"_id": document_id}, {"$pull": {"outbox": entry}})


def publish_outbox(collection, document_id, entries, dispatch, clear=pull_entry):
    """Publish stored entries, then remove each from its document with `clear` (for versioned
    documents, `revisions.pull_unversioned`, so that the removal cannot undo a concurrent change
    on FerretDB). A failure leaves the entry for the relay, so the change is never silently left
    without its event; an entry published again is applied once by its consumers."""
    published = 0
    for entry in entries:
        try:
            dispatch(entry["type"], dict(entry["payload"], event_id=entry["event_id"]))
        except Exception:
            log.warning("event %s left in outbox for the relay", entry["event_id"], exc_info=True)
            return published
        clear(collection, document_id, entry)
        published += 1
    return published


def relay_outbox(collection, dispatch, older_than_seconds=5, limit=200, clear=pull_entry):
    """Publish entries left behind by a crash or outage. Returns how many were published."""
    cutoff = utcnow() - datetime.timedelta(seconds=older_than_seconds)
    published = 0
    for document in collection.find(
        # One condition on the array, so the dotted form means the same as $elemMatch, which
        # FerretDB 1.x answers with no documents.
        {"outbox.created_at": {"$lt": cutoff}}, {"outbox": 1}
    ).limit(limit):
        published += publish_outbox(collection, document["_id"], document["outbox"], dispatch, clear)
    return published


def retry_policy():
    """(attempts in all, first wait in seconds) for a transient failure, from the environment."""
    raw = os.environ.get("EVENT_RETRY_ATTEMPTS", "")
    attempts = int(raw) if raw else 8
    if attempts < 1:
        raise ValueError("EVENT_RETRY_ATTEMPTS must be at least 1")
    return attempts, config.seconds("EVENT_RETRY_BASE_SECONDS", 1)


def retry_delay(failed_attempts, base):
    """The wait after the n-th failed attempt: base, doubling, at most a minute."""
    return min(base * 2 ** (failed_attempts - 1), MAX_RETRY_DELAY)


def event_id_of(message):
    try:
        payload = message.decode()
    except Exception:  # undecodable: the letter still carries the body as it came
        return None
    return payload.get("event_id") if isinstance(payload, dict) else None


class ReliableEventHandler(EventHandler):
    """A durable SERVICE_POOL handler that never drops an event.

    - Success: the message is acked.
    - A transient failure (TRANSIENT: the database or the broker away) is tried again after
      EVENT_RETRY_BASE_SECONDS, doubling each time up to a minute, until EVENT_RETRY_ATTEMPTS
      attempts in all (1 s and 8 by default: about two minutes, so a database restart is ridden out).
      The wait runs in a thread of its own, holding the message unacked; then a copy carrying
      the count is published back to the queue with confirms, and only then is the original acked.
    - Any other failure, and the last transient one, sends the event to the dead-letter queue
      with confirms, then acks it.

    A crash at any point leaves the message unacked for the broker to redeliver; a copy published
    just before a crash may be applied twice, which consumers absorb by storing each event id once.
    (nameko's plain handler acks even when the worker failed: an event lost per database restart.)
    """

    def __init__(self, source_service, event_type, **kwargs):
        kwargs.setdefault("handler_type", SERVICE_POOL)
        kwargs.setdefault("reliable_delivery", True)
        super().__init__(source_service, event_type, **kwargs)

    def setup(self):
        super().setup()
        self.retry_attempts, self.retry_base = retry_policy()

    def handle_message(self, body, message):
        # nameko turns every header into worker context, which travels on with whatever the worker
        # publishes next: the count must not become the next event's.
        count = message.headers.pop(dead_letters.ATTEMPTS_HEADER, 0)
        message.failed_attempts = count if isinstance(count, int) and count > 0 else 0
        signature = message.headers.pop(identity.EVENT_SIGNATURE_HEADER, None)
        try:
            identity.verify_event(self.source_service, self.event_type, body, signature)
        except Unauthenticated as forged:
            # Never applied; kept in the dead-letter queue for an operator to see.
            self._dead_letter(message, 1, forged)
            return
        message.event_signature = signature  # off the headers, which become the worker's context
        super().handle_message(body, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.consumer.ack_message(message)
            return
        # A retried or dead-lettered copy still carries the event's signature.
        message.headers[identity.EVENT_SIGNATURE_HEADER] = message.event_signature
        error = exc_info[1]
        attempts = getattr(message, "failed_attempts", 0) + 1
        if isinstance(error, TRANSIENT) and attempts < self.retry_attempts:
            delay = retry_delay(attempts, self.retry_base)
            log.warning("event %s failed (%s), attempt %d of %d; next in %gs", event_id_of(message),
                        type(error).__name__, attempts, self.retry_attempts, delay)
            self.container.spawn_managed_thread(functools.partial(self._retry_later, message, attempts, delay))
        else:
            self._dead_letter(message, attempts, error)

    def _broker_holds(self, message):
        # The consumer's connection is gone: the broker has put the message back already.
        return message.channel.connection is not None

    def _retry_later(self, message, attempts, delay):
        time.sleep(delay)
        if not self._broker_holds(message):
            return
        headers = dict(message.headers, **{dead_letters.ATTEMPTS_HEADER: attempts})
        try:
            with dead_letters.connect(self.amqp_uri) as connection:
                dead_letters.publish_copy(connection, message, headers, routing_key=self.queue.name)
        except Exception as exc:
            # The broker's trouble: give the original back; it comes round with the same count.
            log.warning("event %s: retry not queued (%s); returned to the queue", event_id_of(message), type(exc).__name__)
            self.consumer.requeue_message(message)
            return
        self.consumer.ack_message(message)

    def _dead_letter(self, message, attempts, error):
        event_id = event_id_of(message)
        try:
            dead_letters.send(
                self.amqp_uri, message,
                queue=self.queue.name, service=self.container.service_name, handler=self.method_name,
                source_service=self.source_service, event_type=self.event_type, event_id=event_id,
                # The type only: an error's message may quote personal data.
                error=f"{type(error).__module__}.{type(error).__qualname__}", attempts=attempts,
            )
        except Exception as exc:
            log.error("event %s: dead letter not sent (%s); tried again in %gs", event_id, type(exc).__name__, MAX_RETRY_DELAY)
            self.container.spawn_managed_thread(functools.partial(self._requeue_later, message, MAX_RETRY_DELAY))
            return
        log.error("event %s dead-lettered after %d attempt(s): %s", event_id, attempts, type(error).__name__)
        self.consumer.ack_message(message)

    def _requeue_later(self, message, delay):
        time.sleep(delay)
        if self._broker_holds(message):
            self.consumer.requeue_message(message)


reliable_event_handler = ReliableEventHandler.decorator
