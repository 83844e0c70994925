"""Lock-outs that reach every gateway process at once.

When a key is revoked, staff are erased or change roles, or a partner is suspended, the registry
announces it on a fanout exchange; every gateway process holds its own exclusive queue bound to
it and drops its cached identities. The announcement carries ids only.
"""
import logging
import threading
import time

from kombu import Connection, Exchange, Queue

log = logging.getLogger(__name__)

EXCHANGE = Exchange("coalition.access", type="fanout", durable=True)


def announce(amqp_uri, reason, **ids):
    """Publish with confirms; the caller decides what a failure means."""
    with Connection(amqp_uri, connect_timeout=3, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish({"reason": reason, **ids}, exchange=EXCHANGE, declare=[EXCHANGE], retry=True,
                         retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.3})


class Watcher:
    """A daemon thread consuming lock-out announcements for one process.

    `on_change` is called for every announcement. While the watcher is not subscribed (starting,
    or the broker went away) `subscribed` is False, and the caller must not trust its cache."""

    def __init__(self, amqp_uri, on_change):
        self.amqp_uri = amqp_uri
        self.on_change = on_change
        self.subscribed = False
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lockout-watcher", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()

    def _run(self):
        while not self._stopping.is_set():
            try:
                self._consume()
            except Exception as exc:  # broker away: drop the subscription, retry shortly
                log.warning("lock-out watcher disconnected (%s); cached identities are bypassed", type(exc).__name__)
            self.subscribed = False
            self.on_change({"reason": "watcher.disconnected"})
            self._stopping.wait(1.0)

    def _consume(self):
        with Connection(self.amqp_uri, connect_timeout=3, heartbeat=10) as conn:
            queue = Queue(exchange=EXCHANGE, exclusive=True, auto_delete=True, durable=False)

            def received(body, message):
                message.ack()
                self.on_change(body if isinstance(body, dict) else {})

            with conn.Consumer(queue, callbacks=[received], accept=["json"]):
                self.subscribed = True
                last_beat = time.monotonic()
                while not self._stopping.is_set():
                    try:
                        conn.drain_events(timeout=1.0)
                    except TimeoutError:
                        pass
                    if time.monotonic() - last_beat > 2:
                        conn.heartbeat_check()
                        last_beat = time.monotonic()
