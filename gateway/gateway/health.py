"""Liveness and readiness."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, current_app, jsonify
from kombu import Connection

from gateway.rpc import ServiceUnavailable

SERVICES = ("registry", "mentor_bank", "matching", "reporting")
READY_TIMEOUT = 2.0
# /readyz is public: within this many seconds of a round of probes starting, every caller gets
# that round's answer, so a flood costs this process one round (4 RPCs and a broker connection)
# per second at most, and a dead service still shows within about READY_TIMEOUT + 1 s.
READY_CACHE_SECONDS = 1.0

bp = Blueprint("health", __name__)
_probe_threads = ThreadPoolExecutor(max_workers=len(SERVICES) + 1, thread_name_prefix="readyz")


@bp.get("/healthz")
def healthz():
    """The process is alive; says nothing about its dependencies."""
    return jsonify(status="ok")


def _broker_state(amqp_uri):
    try:
        with Connection(amqp_uri, connect_timeout=READY_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, timeout=READY_TIMEOUT)
        return "ok"
    except Exception as exc:  # any failure means "not ready"; say which kind
        return f"unavailable: {type(exc).__name__}"


def _service_state(rpc, service):
    try:
        answer = rpc.call(service, "health", timeout=READY_TIMEOUT)
    except ServiceUnavailable as exc:
        return exc.reason
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok" if answer.get("status") == "ok" else f"degraded: database {answer.get('database')}"


def probe(rpc):
    """One round of probes, run in parallel: the body and status /readyz answers with."""
    broker = _probe_threads.submit(_broker_state, rpc.amqp_uri)
    futures = {name: _probe_threads.submit(_service_state, rpc, name) for name in SERVICES}
    checks = {"broker": broker.result()}
    checks.update({name: future.result() for name, future in futures.items()})
    failed = sorted(name for name, state in checks.items() if state != "ok")
    return {"status": "ok" if not failed else "unavailable", "checks": checks, "failed": failed}, (200 if not failed else 503)


class Readiness:
    """The last round of probes, reused while it is fresh; one round at a time per process."""

    def __init__(self, ttl=READY_CACHE_SECONDS, clock=time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._last = None  # (when the round started, its answer), replaced whole
        self._rounds = 0

    def answer(self, rpc):
        seen = self._rounds
        last = self._last
        if self._fresh(last):
            return last[1]
        with self._lock:
            # Whoever waited here while another thread probed takes that round's answer.
            if self._rounds != seen or self._fresh(self._last):
                return self._last[1]
            started = self.clock()
            self._last = (started, probe(rpc))
            self._rounds += 1
            return self._last[1]

    def _fresh(self, last):
        # Fresh from when the round started, so a slow (failing) round is never reused for long.
        return last is not None and self.clock() - last[0] < self.ttl


@bp.get("/readyz")
def readyz():
    """Ready when the broker is reachable and every service answers a health RPC within 2 s."""
    readiness = current_app.extensions.setdefault("readiness", Readiness())
    body, status = readiness.answer(current_app.extensions["rpc"])
    return jsonify(body), status
