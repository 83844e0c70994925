"""A pool of nameko standalone RPC clients, with a timeout on every call.

nameko's ClusterRpcClient is single-threaded and waits forever by default, so each request
thread borrows its own client from the pool and every call carries a timeout.
"""
import queue
import socket

from amqp.exceptions import AMQPError
from kombu.exceptions import OperationalError
from nameko.exceptions import RpcTimeout, UnknownService
from nameko.standalone.rpc import ClusterRpcClient

from coalition_common import config


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
        # We own the headers dict so that trace context from an earlier call never leaks into the next.
        self.context_data = {}
        self.cluster = ClusterRpcClient(context_data=self.context_data, timeout=timeout, uri=amqp_uri)
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

    def call(self, service, method, *args, timeout=None, **kwargs):
        """Call `service.method(*args, **kwargs)`; raise ServiceTimeout or ServiceUnavailable
        instead of hanging. Errors the service raised on purpose pass through as themselves."""
        try:
            client = self._checkout()
        except (OSError, AMQPError, OperationalError) as exc:
            raise ServiceUnavailable("broker", type(exc).__name__)
        client.context_data.pop("traceparent", None)
        client.context_data.pop("tracestate", None)
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
