"""A pool of nameko standalone RPC clients, with a timeout on every call.

nameko's ClusterRpcClient is single-threaded and waits forever by default, so each request
thread borrows its own client from the pool and every call carries a timeout.
"""
import queue
import socket
import time

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.rpc import Client
from nameko.standalone.rpc import ClusterRpcClient, ReplyListener

from coalition_common import config
from coalition_common.identity import CONTEXT_KEY, GATEWAY, sign


class HeldReplyListener(ReplyListener):
    """nameko's standalone ReplyListener opens a new broker connection for every reply it waits
    for (each `consume()` enters a fresh consumer context): a TCP and AMQP handshake per request.
    This one keeps one connection per client and opens a new one only when it breaks; replies
    wait in their queue meanwhile."""

    def start(self):
        super().start()
        self._context = None
        self._connection = None

    def _open(self):
        self._context = self.consumer.consumer_context()
        self._connection, _, _ = self._context.__enter__()

    def _close(self):
        context, self._context = self._context, None
        if context is not None:
            try:
                context.__exit__(None, None, None)
            except Exception:  # already broken; nothing left to release
                pass

    def consume_reply(self, correlation_id):
        deadline = time.monotonic() + (self.timeout or float("inf"))
        while not self.pending.get(correlation_id):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RpcTimeout()
            if self._context is None:
                self._open()
            try:
                self._connection.drain_events(timeout=min(remaining, 1.0))
            except socket.timeout:
                continue
            except (OSError, AMQPError, OperationalError):
                self._close()  # e.g. the broker dropped an idle connection; reopen and keep waiting
        return self.pending.pop(correlation_id)

    def stop(self):
        self._close()
        super().stop()


class HeldClusterRpcClient(ClusterRpcClient):
    """ClusterRpcClient whose replies arrive over one held connection (see HeldReplyListener)."""

    def __init__(self, context_data=None, timeout=None, **options):
        super().__init__(context_data=context_data, timeout=timeout, **options)
        plain = self.reply_listener
        self.reply_listener = HeldReplyListener(plain.queue, timeout=timeout, uri=self.amqp_uri, ssl=self.ssl)
        self.client = Client(self.client.publish, self.reply_listener.register_for_reply, self.client.context_data)


class ServiceUnavailable(Exception):
    """The broker or the service could not be reached."""

    def __init__(self, service, reason):
        super().__init__(f"{service}: {reason}")
        self.service = service
        self.reason = reason


class ServiceTimeout(ServiceUnavailable):
    """The service did not answer in time."""


class _PooledClient:
    def __init__(self, amqp_uri, timeout):
        # Requests are transient: one lost in a broker restart times out like any other, and the
        # broker need not write it to disk before confirming (about 1.5 ms a call here).
        self.cluster = HeldClusterRpcClient(timeout=timeout, uri=amqp_uri, delivery_mode=1)
        # The headers dict the client really sends (nameko swaps an empty one passed in for its
        # own): each call sets the caller's identity in it and clears an earlier trace context.
        self.context_data = self.cluster.client.context_data
        # Reply queues are per client and short-lived: keep them classic even where the broker's
        # default queue type is quorum (as in deploy/k8s), so they are not replicated.
        self.cluster.reply_listener.queue.queue_arguments["x-queue-type"] = "classic"
        self.proxy = self.cluster.start()

    def set_timeout(self, seconds):
        self.cluster.reply_listener.timeout = seconds

    def stop(self):
        try:
            self.cluster.stop()
        except Exception:  # already broken; nothing to release
            pass


class RpcPool:
    def __init__(self, amqp_uri=None, timeout=None, size=16):
        self.amqp_uri = amqp_uri or config.amqp_uri()
        self.timeout = timeout or config.rpc_timeout()
        self._idle = queue.LifoQueue(maxsize=size)

    def _checkout(self):
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return _PooledClient(self.amqp_uri, self.timeout)

    def _checkin(self, client):
        try:
            self._idle.put_nowait(client)
        except queue.Full:
            client.stop()

    def call(self, service, method, *args, timeout=None, identity=None, **kwargs):
        """Call `service.method(*args, **kwargs)` as `identity` (signed here into the context
        headers; the platform's own principal when None); raise ServiceTimeout or
        ServiceUnavailable instead of hanging. Errors the service raised on purpose pass through
        as themselves."""
        try:
            client = self._checkout()
        except (OSError, AMQPError, OperationalError) as exc:
            raise ServiceUnavailable("broker", type(exc).__name__)
        client.context_data.pop("traceparent", None)
        client.context_data.pop("tracestate", None)
        client.context_data[CONTEXT_KEY] = sign(identity or GATEWAY)
        client.set_timeout(timeout or self.timeout)
        try:
            result = getattr(client.proxy[service], method)(*args, **kwargs)
        except RpcTimeout:
            # The late reply may still arrive on this client's queue; drop the client.
            client.stop()
            raise ServiceTimeout(service, f"no answer within {timeout or self.timeout:g}s")
        except UnknownService:
            # Nobody consumes that service's queue: it is not running.
            self._checkin(client)
            raise ServiceUnavailable(service, "not running")
        except (OSError, socket.timeout, AMQPError, OperationalError) as exc:
            client.stop()
            raise ServiceUnavailable(service, type(exc).__name__)
        except Exception:
            self._checkin(client)
            raise
        self._checkin(client)
        return result

    def close(self):
        while True:
            try:
                self._idle.get_nowait().stop()
            except queue.Empty:
                return
