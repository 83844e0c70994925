"""Dead letters: events a consumer could not apply, kept for an operator to list, replay or discard.

A ReliableEventHandler sends an event here when its handler fails with a non-transient error, or
keeps failing transiently past its retry budget. A dead letter is the original message (body and
context headers unchanged) plus headers saying where it came from and why: the error's type only,
since an error's message may quote personal data.

The exchange and queue are durable and declared by whoever publishes to them; the consumer queues
are left exactly as they are declared today (a broker refuses to redeclare a queue with other
arguments), so nothing here relies on the broker's own dead-lettering.

Plain kombu, so the gateway and operator commands use it without running a nameko service.
"""
import datetime

from kombu import Connection, Exchange, Queue

EXCHANGE = Exchange("coalition.dead-letters", type="fanout", durable=True)
QUEUE = Queue("dead-letters", exchange=EXCHANGE, durable=True, auto_delete=False, exclusive=False)

# Bookkeeping headers; none of them may reach a worker's context or a replayed event.
ATTEMPTS_HEADER = "x-coalition-attempts"  # failed attempts before this delivery (retry copies)
HEADER_PREFIX = "x-coalition-dead-letter-"
FIELDS = ("queue", "service", "handler", "source_service", "event_type", "event_id", "error", "attempts", "dead_lettered_at")

CONNECT_SECONDS = 5
CONFIRM_SECONDS = 10
MAX_SCAN = 10000  # letters held at once while looking for one event's letters


class Unroutable(Exception):
    """No queue took a mandatory message, e.g. the queue it was meant for no longer exists."""


def connect(amqp_uri):
    return Connection(amqp_uri, connect_timeout=CONNECT_SECONDS, transport_options={"confirm_publish": True})


def original_headers(headers):
    """A message's headers without this module's bookkeeping."""
    return {key: value for key, value in (headers or {}).items()
            if key != ATTEMPTS_HEADER and not key.startswith(HEADER_PREFIX)}


def publish_copy(connection, message, headers, exchange="", routing_key="", declare=()):
    """Publish `message`'s body byte for byte with `headers`, persistent and mandatory, over
    `connection` (from connect()), and return once the broker has confirmed it. Raises Unroutable
    when no queue took it.

    The return is caught by a handler rather than raised in the middle of waiting for the confirm,
    which would leave that confirm unread on the channel to "confirm" a later message."""
    returned = []
    producer = connection.Producer(on_return=lambda exc, exchange, key, msg: returned.append(key))
    producer.publish(
        message.body,
        exchange=exchange,
        routing_key=routing_key,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=2,
        mandatory=True,
        declare=list(declare),
        timeout=CONFIRM_SECONDS,
        confirm_timeout=CONFIRM_SECONDS,
    )
    if returned:
        raise Unroutable(f"no queue took a message routed {routing_key!r}")


def send(amqp_uri, message, **metadata):
    """Dead-letter `message` (a kombu message) with `metadata` (see FIELDS); returns once confirmed."""
    unknown = set(metadata) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown dead-letter fields: {sorted(unknown)}")
    metadata.setdefault("dead_lettered_at", datetime.datetime.now(datetime.timezone.utc).isoformat())
    headers = original_headers(message.headers)
    headers.update({HEADER_PREFIX + name.replace("_", "-"): value for name, value in metadata.items()})
    with connect(amqp_uri) as connection:
        publish_copy(connection, message, headers, exchange=EXCHANGE, declare=[QUEUE])


def metadata(headers):
    """What a dead letter says about itself: one entry per name in FIELDS."""
    return {name: (headers or {}).get(HEADER_PREFIX + name.replace("_", "-")) for name in FIELDS}


def list_dead_letters(amqp_uri, limit=100):
    """The metadata of the oldest `limit` dead letters, leaving them in the queue: they are
    fetched without acknowledgement, and closing the channel puts them back in order. Whatever
    another operator holds at that moment is not seen."""
    letters = []
    with Connection(amqp_uri, connect_timeout=CONNECT_SECONDS) as connection:
        queue = QUEUE(connection.channel())
        queue.declare()
        while len(letters) < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            letters.append(metadata(message.headers))
    return letters


def replay(amqp_uri, event_id):
    """Send every dead letter of `event_id` back to the queue it came from (through the default
    exchange, body and context headers as they were, with a fresh retry budget), then remove it.
    False when there is none. Raises Unroutable if its queue is gone; the letter stays.

    A crash between the confirmed publish and the removal leaves the letter to be replayed again;
    consumers store each event id once, so that is harmless."""
    def send_back(connection, message):
        publish_copy(connection, message, original_headers(message.headers),
                     routing_key=message.headers[HEADER_PREFIX + "queue"])

    return _take(amqp_uri, event_id, send_back)


def discard(amqp_uri, event_id):
    """Remove every dead letter of `event_id` for good. False when there is none."""
    return _take(amqp_uri, event_id, None)


def _take(amqp_uri, event_id, act):
    """Find `event_id`'s letters, `act` on each, then acknowledge (remove) them. Letters for other
    events are only held meanwhile and go back to the queue when the channel closes."""
    found = False
    with connect(amqp_uri) as connection:
        queue = QUEUE(connection.channel())
        queue.declare()
        for _ in range(MAX_SCAN):
            message = queue.get(no_ack=False)
            if message is None:
                break
            if metadata(message.headers)["event_id"] != event_id:
                continue
            if act is not None:
                act(connection, message)
            message.ack()
            found = True
    return found
