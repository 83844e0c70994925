"""The gateway's limits on the real database: two gateway processes (two apps, each with its own
limiter) share one allowance per staff member and one allowance of failed authentications per
client address, and the second refuses a key-guessing address without asking the registry."""

import pytest

from coalition_common.errors import Unauthenticated
from gateway import create_app, ratelimit
from gateway.ratelimit import Limits

pytestmark = pytest.mark.service

STAFF = {"staff_id": "stf_shared", "partner_id": "p1", "hub_id": None, "roles": ["coordinator"], "charter_accepted": False, "expires_at": None}


@pytest.fixture(scope="module")
def gateway_database(scratch_database):
    return scratch_database("gateway")


class Registry:
    """Knows two keys of one staff member; counts how often it is asked."""

    amqp_uri = "memory://"

    def __init__(self):
        self.authentications = 0

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            self.authentications += 1
            if args[0] in ("key-one", "key-two"):
                return dict(STAFF, key_id=args[0])
            raise Unauthenticated("The key is not valid.")
        return {"staff": {"id": STAFF["staff_id"]}, "partner": None, "roles": STAFF["roles"]}


def gateway_process(database, **allowances):
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = Registry()
    app.extensions["limits"] = Limits(database=database, **allowances)
    return app


def test_two_gateway_processes_share_one_allowance_per_staff_member(gateway_database):
    first = gateway_process(gateway_database, per_staff_per_minute=6).test_client()
    second = gateway_process(gateway_database, per_staff_per_minute=6).test_client()
    # The same person with a different key, through a different process, draws on the same allowance.
    statuses = []
    for _ in range(3):
        statuses.append(first.get("/api/v1/me", headers={"Authorization": "Bearer key-one"}).status_code)
        statuses.append(second.get("/api/v1/me", headers={"Authorization": "Bearer key-two"}).status_code)
    assert statuses == [200] * 6
    for client, key in ((first, "key-one"), (second, "key-two"), (second, "key-one")):
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60


def test_an_address_over_its_failed_allowance_is_refused_by_every_process_before_any_registry_call(gateway_database):
    first_app = gateway_process(gateway_database, failed_per_address_per_minute=4)
    second_app = gateway_process(gateway_database, failed_per_address_per_minute=4)
    address = {"REMOTE_ADDR": "192.0.2.44"}
    first = [first_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer guess-{n}"}, environ_base=address).status_code for n in range(4)]
    assert first == [401] * 4 and first_app.extensions["rpc"].authentications == 4
    second = [second_app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer guess-x{n}"}, environ_base=address).status_code for n in range(50)]
    assert second == [429] * 50
    assert second_app.extensions["rpc"].authentications == 0
    # Someone else, elsewhere, still gets in.
    other = second_app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer key-one"}, environ_base={"REMOTE_ADDR": "198.51.100.9"})
    assert other.status_code == 200


def test_windows_are_deleted_once_they_have_ended(gateway_database):
    clock = [1_800_000_000.0]
    limits = Limits(database=gateway_database, clock=lambda: clock[0])
    limits.hit_staff("stf_old")
    limits.record_failed("192.0.2.45")
    windows = gateway_database[ratelimit.COLLECTION]
    old = {key for key in (d["_id"] for d in windows.find({})) if key.endswith(f":{int(clock[0] // 60)}")}
    assert len(old) == 2
    clock[0] += 3 * 60
    limits.hit_staff("stf_new")
    left = {d["_id"] for d in windows.find({})}
    assert not old & left and any(key.startswith("staff:stf_new:") for key in left)

