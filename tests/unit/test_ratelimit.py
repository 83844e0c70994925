"""Limits shared by gateway processes, counted before any registry call, and a cached /readyz,
against in-memory stand-ins for the database and the services."""
import copy
import logging
import threading

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from coalition_common.errors import Unauthenticated
from gateway import create_app, health, ratelimit
from gateway.ratelimit import Limits, RateLimited
from gateway.rpc import ServiceUnavailable


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


class WindowCollection:
    """The few collection operations the limiter uses, with MongoDB's meaning."""

    def __init__(self):
        self.documents = {}
        self.calls = 0
        self.failing = False

    def _call(self):
        self.calls += 1
        if self.failing:
            raise ServerSelectionTimeoutError("no database")

    def create_index(self, *args, **kwargs):
        self._call()

    def find_one(self, query, projection=None):
        self._call()
        return copy.deepcopy(self.documents.get(query["_id"]))

    def find_one_and_update(self, query, update, upsert=False, return_document=None):
        self._call()
        document = self.documents.get(query["_id"])
        if document is None:
            if not upsert:
                return None
            document = self.documents[query["_id"]] = {"_id": query["_id"], **update.get("$setOnInsert", {})}
        for path, value in update["$max"].items():
            field, _, process = path.partition(".")
            counts = document.setdefault(field, {})
            counts[process] = max(counts.get(process, value), value)
        return copy.deepcopy(document)

    def delete_many(self, query):
        self._call()
        before = query["expires_at"]["$lt"]
        for key in [k for k, d in self.documents.items() if d["expires_at"] < before]:
            del self.documents[key]


class GatewayDatabase(dict):
    def __init__(self):
        super().__init__(request_windows=WindowCollection())


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def database():
    return GatewayDatabase()


def process(database, clock, **allowances):
    """One gateway process's limiter."""
    allowances.setdefault("per_staff_per_minute", 5)
    allowances.setdefault("failed_per_address_per_minute", 3)
    return Limits(database=database, clock=clock, **allowances)


def test_gateway_processes_share_one_allowance_per_staff_member(database, clock):
    first, second = process(database, clock), process(database, clock)
    for _ in range(3):
        first.hit_staff("stf_a")
    second.hit_staff("stf_a")
    second.hit_staff("stf_a")
    with pytest.raises(RateLimited) as refused:
        first.hit_staff("stf_a")
    assert refused.value.status == 429 and 1 <= refused.value.retry_after <= 60
    with pytest.raises(RateLimited):
        second.hit_staff("stf_a")
    # Another staff member has their own allowance.
    second.hit_staff("stf_b")


def test_the_allowance_comes_back_in_the_next_minute(database, clock):
    limits = process(database, clock)
    clock.now = 1_800_000_040.0  # 20 s before the minute turns
    for _ in range(5):
        limits.hit_staff("stf_a")
    with pytest.raises(RateLimited) as refused:
        limits.hit_staff("stf_a")
    assert refused.value.retry_after == 20
    clock.now += 20
    limits.hit_staff("stf_a")


def test_a_staff_member_known_to_be_over_costs_no_database_round_trip(database, clock):
    limits = process(database, clock)
    for _ in range(5):
        limits.hit_staff("stf_a")
    with pytest.raises(RateLimited):
        limits.hit_staff("stf_a")
    calls = database["request_windows"].calls
    for _ in range(50):
        with pytest.raises(RateLimited):
            limits.hit_staff("stf_a")
    assert database["request_windows"].calls == calls


def test_an_address_that_keeps_failing_is_refused_by_every_process(database, clock):
    first, second = process(database, clock), process(database, clock)
    for _ in range(2):
        first.check_address("203.0.113.7")
        first.record_failed("203.0.113.7")
    second.check_address("203.0.113.7")
    second.record_failed("203.0.113.7")
    for limits in (first, second):
        with pytest.raises(RateLimited) as refused:
            limits.check_address("203.0.113.7")
        assert "address" in refused.value.detail and "203.0.113.7" not in refused.value.detail
    second.check_address("203.0.113.8")
    clock.now += 60
    first.check_address("203.0.113.7")


def test_an_ipv6_client_is_counted_by_its_slash_64(database, clock):
    limits = process(database, clock)
    for host in ("2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::9"):
        limits.record_failed(host)
    with pytest.raises(RateLimited):
        limits.check_address("2001:db8:1:2::abcd")
    limits.check_address("2001:db8:1:3::1")


def test_no_client_address_is_stored(database, clock):
    limits = process(database, clock)
    limits.record_failed("203.0.113.7")
    limits.hit_staff("stf_a")
    assert "203.0.113.7" not in repr(database["request_windows"].documents)


def test_windows_that_have_ended_are_deleted(database, clock):
    limits = process(database, clock)
    limits.hit_staff("stf_a")
    limits.record_failed("203.0.113.7")
    clock.now += 3 * 60
    limits.hit_staff("stf_b")
    assert [key.split(":")[0] for key in database["request_windows"].documents] == ["staff"]


@pytest.mark.parametrize("down_from_the_start", [True, False])
def test_when_the_database_is_down_each_process_still_limits_on_its_own(database, clock, caplog, down_from_the_start):
    windows = database["request_windows"]
    limits = process(database, clock)
    if not down_from_the_start:
        limits.hit_staff("stf_before")
    windows.failing = True
    calls = windows.calls
    with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
        for _ in range(3):
            limits.check_address("203.0.113.7")
            limits.record_failed("203.0.113.7")
        with pytest.raises(RateLimited):
            limits.check_address("203.0.113.7")
        for _ in range(5):
            limits.hit_staff("stf_a")
        with pytest.raises(RateLimited):
            limits.hit_staff("stf_a")
    # One warning per outage, naming neither the address nor the staff member.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "203.0.113" not in warnings[0] and "stf_a" not in warnings[0]
    # While down, the database is left alone for a few seconds rather than asked on every request.
    assert windows.calls == calls + 1
    clock.now += ratelimit.STORE_RETRY_SECONDS
    windows.failing = False
    limits.hit_staff("stf_b")
    assert windows.calls > calls + 1


class KeyGuessingRpc:
    """The registry knows no key at all; counts how often it is asked."""

    amqp_uri = "memory://"

    def __init__(self):
        self.authentications = 0

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            self.authentications += 1
            raise Unauthenticated("The key is not valid.")
        raise AssertionError(f"unexpected call {service}.{method}")


def test_guessed_keys_beyond_the_allowance_are_refused_without_asking_the_registry(database, clock):
    app = create_app({"TESTING": True})
    rpc = app.extensions["rpc"] = KeyGuessingRpc()
    app.extensions["limits"] = process(database, clock)
    client = app.test_client()
    statuses = [client.get("/api/v1/me", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(20)]
    assert statuses == [401] * 3 + [429] * 17
    assert rpc.authentications == 3
    refused = client.get("/api/v1/me", headers={"Authorization": "Bearer guess-x"})
    assert refused.mimetype == "application/problem+json" and 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another client address is not affected.
    other = client.get("/api/v1/me", headers={"Authorization": "Bearer guess-y"}, environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert other.status_code == 401


class HealthRpc:
    """Services answering health probes; `down` names the ones that do not."""

    amqp_uri = "memory://"

    def __init__(self):
        self.probes = 0
        self.down = set()
        self.gate = None  # when set, probes wait for it

    def call(self, service, method, *args, **kwargs):
        assert method == "health"
        self.probes += 1
        if self.gate is not None:
            self.gate.wait()
        if service in self.down:
            raise ServiceUnavailable(service, "not running")
        return {"status": "ok", "database": "ok"}


@pytest.fixture
def health_app(clock):
    app = create_app({"TESTING": True})
    rpc = app.extensions["rpc"] = HealthRpc()
    app.extensions["readiness"] = health.Readiness(clock=clock)
    return app, rpc


def test_a_flood_of_readyz_costs_one_round_of_probes(health_app, clock):
    app, rpc = health_app
    client = app.test_client()
    assert [client.get("/readyz").status_code for _ in range(50)] == [200] * 50
    assert rpc.probes == len(health.SERVICES)


def test_readyz_shows_a_dead_service_once_its_answer_is_a_second_old(health_app, clock):
    app, rpc = health_app
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    rpc.down.add("matching")
    clock.now += health.READY_CACHE_SECONDS
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["failed"] == ["matching"]
    assert rpc.probes == 2 * len(health.SERVICES)


class WatchedReadiness(health.Readiness):
    """Readiness that counts how often a caller asks whether the answer is fresh."""

    def __init__(self, clock):
        super().__init__(clock=clock)
        self.asked = 0
        self._asked_lock = threading.Lock()

    def _fresh(self, last):
        with self._asked_lock:
            self.asked += 1
        return super()._fresh(last)


def test_callers_waiting_on_a_slow_round_share_its_answer(health_app, clock):
    app, rpc = health_app
    readiness = app.extensions["readiness"] = WatchedReadiness(clock)
    rpc.gate = threading.Event()
    statuses = []

    def ask():
        with app.test_client() as client:
            statuses.append(client.get("/readyz").status_code)

    callers = [threading.Thread(target=ask) for _ in range(8)]
    for caller in callers:
        caller.start()
    # The first caller asks twice (before and after taking the lock) and probes; the other seven
    # ask once and wait for it. Only then does the slow round finish, its answer already stale.
    for _ in range(1000):  # a guard against hanging, not a timing assertion
        if readiness.asked >= 9:
            break
        threading.Event().wait(0.01)
    assert readiness.asked >= 9
    clock.now += 5 * health.READY_CACHE_SECONDS
    rpc.gate.set()
    for caller in callers:
        caller.join()
    assert statuses == [200] * 8
    assert rpc.probes == len(health.SERVICES)


def test_concurrent_guesses_from_one_address_never_get_more_lookups_than_the_allowance(database, clock):
    """A burst of simultaneous wrong keys: lookups already under way count against the allowance,
    so the registry is asked at most as often as the allowance says, however many arrive at once."""
    limits = process(database, clock)  # an allowance of 3 failed authentications
    asked, refused = [], []
    inside = threading.Barrier(3, timeout=10)

    def guess():
        try:
            with limits.lookup("203.0.113.9"):
                asked.append(1)
                inside.wait()  # every admitted lookup is under way at the same moment
                limits.record_failed("203.0.113.9")
        except RateLimited:
            refused.append(1)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(asked) == 3 and len(refused) == 9
