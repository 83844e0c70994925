"""The gateway's RPC client against a real registry: one held reply connection, recovery when
the broker drops it, and a timeout instead of a hang."""
import socket

import pytest

from gateway.rpc import RpcPool, ServiceTimeout, ServiceUnavailable

pytestmark = pytest.mark.service


@pytest.fixture(scope="module")
def registry(platform_factory):
    return platform_factory("gatewayrpc", ("registry",))


def test_replies_arrive_over_one_held_connection(registry, monkeypatch):
    pool = RpcPool(amqp_uri=registry.amqp_uri, timeout=5, size=1)
    try:
        assert pool.call("registry", "health")["status"] == "ok"
        connects = []
        original = socket.socket.connect
        monkeypatch.setattr(socket.socket, "connect", lambda sock, *a: (connects.append(a), original(sock, *a))[1])
        for _ in range(20):
            assert pool.call("registry", "health")["service"] == "registry"
        assert connects == []  # nameko's stock client would have opened 20 connections
    finally:
        pool.close()


def test_a_dropped_reply_connection_is_reopened(registry):
    pool = RpcPool(amqp_uri=registry.amqp_uri, timeout=5, size=1)
    try:
        assert pool.call("registry", "health")["status"] == "ok"
        client = pool._idle.queue[0]
        # What a broker closing an idle connection looks like from here.
        client.cluster.reply_listener._connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)
        assert pool.call("registry", "health")["status"] == "ok"
    finally:
        pool.close()


def test_a_missing_service_is_unavailable_and_a_slow_one_times_out(registry):
    pool = RpcPool(amqp_uri=registry.amqp_uri, timeout=1, size=1)
    try:
        with pytest.raises(ServiceUnavailable):
            pool.call("nobody_home", "health")
        registry.stack.stop("registry")  # its durable queue stays: requests wait there, unanswered
        with pytest.raises(ServiceTimeout):
            pool.call("registry", "health")
    finally:
        pool.close()
        registry.start("registry")
