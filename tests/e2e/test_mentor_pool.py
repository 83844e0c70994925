"""The charter decides who shares mentors: until a partner accepts it, its mentors stay private
and it cannot see pooled mentors."""
import uuid

import pytest

from coalition_common.identity import operator

from harness import wait_for

pytestmark = pytest.mark.e2e


def recruiter(partner_id):
    return operator("pool-test", ("recruiter",), partner_id)


def mentor(name):
    return {"given_name": name, "family_name": "Pool", "email": f"{name.lower()}.{uuid.uuid4().hex[:4]}@pool.example",
            "occupation": "2142", "region": "CA-ON", "languages": [{"code": "en", "level": "C2"}]}


@pytest.fixture(scope="module")
def pool(platform, api, admin_key):
    admin = api(admin_key)
    made = {}
    for label, kind in (("ngo", "ngo"), ("employer", "employer"), ("outsider", "employer")):
        partner = admin.post("/api/v1/partners", json={"name": f"Pool {label} {uuid.uuid4().hex[:6]}", "kind": kind, "region": "CA-ON"}).json()
        staff = admin.post(f"/api/v1/partners/{partner['id']}/staff",
                           json={"name": f"{label} admin", "email": f"{uuid.uuid4().hex[:8]}@{label}.example", "roles": ["partner_admin", "coordinator"]}).json()
        key = admin.enrol(staff)
        made[label] = {"id": partner["id"], "client": api(key)}
    for name in ("Ada", "Ben"):
        platform.rpc("mentor_bank", "register_mentor", mentor(name), identity=recruiter(made["employer"]["id"]))
    platform.rpc("mentor_bank", "register_mentor", mentor("Cyd"), identity=recruiter(made["outsider"]["id"]))
    return made


def visible(client):
    return client.get("/api/v1/mentors", params={"limit": 200}).json()["items"]


def accept(side):
    response = side["client"].post(f"/api/v1/partners/{side['id']}/charter", json={"version": "2026-1"})
    assert response.status_code == 201


def test_the_charter_opens_the_pool_both_ways(pool):
    ngo, employer = pool["ngo"], pool["employer"]
    assert visible(ngo["client"]) == []
    own = visible(employer["client"])
    assert sorted(m["given_name"] for m in own) == ["Ada", "Ben"]  # a partner always sees its own, in full

    accept(employer)
    assert visible(ngo["client"]) == []  # the NGO has not joined: it sees nothing pooled
    accept(ngo)
    # Other tests' partners may have joined the pool too: look at these two partners' mentors.
    def employers_in_view():
        return [m for m in visible(ngo["client"]) if m["partner_id"] == employer["id"]]

    wait_for(lambda: len(employers_in_view()) == 2, message="the employer's mentors in the NGO's view")
    shared = employers_in_view()
    assert pool["outsider"]["id"] not in {m["partner_id"] for m in visible(ngo["client"])}  # it has not joined
    for m in shared:
        assert "given_name" not in m and "email" not in m and "family_name" not in m
        assert m["occupation"] == "2142" and m["languages"]
