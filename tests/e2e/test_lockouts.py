"""The lock-out sequences an attacker tried, replayed against the running platform: a revoked,
demoted, erased or suspended caller can do nothing privileged a second later, and whatever it
minted before is dead too. The gateway caches identities for 30 s here (the production maximum),
so only the registry's lock-out announcements can make these pass."""
import time
import uuid

import pytest

pytestmark = pytest.mark.e2e


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def partner(api, admin_key):
    """A fresh partner with two partner admins (one to act against the other) and their keys."""
    admin = api(admin_key)
    partner_id = admin.post("/api/v1/partners", json={"name": unique("Lockout"), "kind": "ngo", "region": "CA-NL"}).json()["id"]
    people = {}
    for who in ("victim", "colleague"):
        member = admin.post(f"/api/v1/partners/{partner_id}/staff", json={
            "name": who, "email": f"{unique(who)}@lockout.example", "roles": ["partner_admin"]}).json()
        key = api().post("/api/v1/enrolments", json={"token": member["enrolment_token"]}).json()["key"]
        people[who] = {"id": member["id"], "key": key, "client": api(key)}
    return {"id": partner_id, "admin": admin, **people}


def mint(person):
    """A key the person mints for themselves, and a client using it."""
    answer = person["client"].post(f"/api/v1/staff/{person['id']}/keys", json={})
    assert answer.status_code == 201, answer.text
    return answer.json()


def privileged_attempts(api, partner, key, staff_id):
    """What a locked-out admin would try: mint a key, add an accomplice, promote itself back."""
    client = api(key)
    return [
        client.post(f"/api/v1/staff/{staff_id}/keys", json={}).status_code,
        client.post(f"/api/v1/partners/{partner['id']}/staff", json={
            "name": "Accomplice", "email": f"{unique('acc')}@lockout.example", "roles": ["partner_admin"]}).status_code,
        client.request("PATCH", f"/api/v1/staff/{staff_id}", json={"roles": ["partner_admin"]}).status_code,
        client.post(f"/api/v1/partners/{partner['id']}/webhooks", json={
            "url": "https://127.0.0.1:9/h", "event_types": ["mentee.enrolled"]}).status_code,
    ]


def test_a_revoked_key_cannot_mint_even_at_once_and_its_children_die(api, partner):
    victim = partner["victim"]
    child = mint(victim)
    grandchild = api(child["key"]).post(f"/api/v1/staff/{victim['id']}/keys", json={}).json()
    assert api(grandchild["key"]).get("/api/v1/me").status_code == 200
    assert victim["client"].get("/api/v1/me").status_code == 200  # its identity is now cached

    assert partner["colleague"]["client"].request("DELETE", f"/api/v1/keys/{_key_id(victim)}").status_code == 200
    # No pause at all: privileged actions are re-checked in the registry, not read from a cache.
    assert victim["client"].post(f"/api/v1/staff/{victim['id']}/keys", json={}).status_code == 401
    time.sleep(1)
    for key in (victim["key"], child["key"], grandchild["key"]):
        assert api(key).get("/api/v1/me").status_code == 401
        assert set(privileged_attempts(api, partner, key, victim["id"])) == {401}


def _key_id(person):
    """The person's first key: the one their enrolment gave them (ids sort in creation order)."""
    return person["client"].get(f"/api/v1/staff/{person['id']}/keys").json()["items"][0]["id"]


def test_a_demoted_admin_cannot_promote_itself_back_or_add_admins(api, partner):
    victim = partner["victim"]
    child = mint(victim)
    assert victim["client"].get("/api/v1/me").json()["roles"] == ["partner_admin"]
    demoted = partner["colleague"]["client"].request("PATCH", f"/api/v1/staff/{victim['id']}", json={"roles": ["coordinator"]})
    assert demoted.status_code == 200
    time.sleep(1)
    for key in (victim["key"], child["key"]):
        assert api(key).get("/api/v1/me").json()["roles"] == ["coordinator"]
        assert set(privileged_attempts(api, partner, key, victim["id"])[1:]) == {403}
    roster = partner["colleague"]["client"].get(f"/api/v1/partners/{partner['id']}/staff", params={"limit": 200}).json()["items"]
    assert [m["roles"] for m in roster if m["id"] == victim["id"]] == [["coordinator"]]
    assert sum("partner_admin" in m["roles"] for m in roster) == 1


def test_an_erased_admin_and_every_key_it_minted_are_dead(api, partner):
    victim = partner["victim"]
    child = mint(victim)
    assert victim["client"].get("/api/v1/me").status_code == 200
    assert partner["colleague"]["client"].request("DELETE", f"/api/v1/staff/{victim['id']}").status_code == 204
    time.sleep(1)
    for key in (victim["key"], child["key"]):
        assert api(key).get("/api/v1/me").status_code == 401
        assert set(privileged_attempts(api, partner, key, victim["id"])) == {401}


def test_a_suspended_partners_keys_do_nothing_a_second_later(api, partner):
    victim = partner["victim"]
    child = mint(victim)
    assert victim["client"].get("/api/v1/me").status_code == 200
    assert partner["admin"].post(f"/api/v1/partners/{partner['id']}/suspend").status_code == 200
    time.sleep(1)
    for key in (victim["key"], child["key"], partner["colleague"]["key"]):
        client = api(key)
        assert client.get("/api/v1/me").status_code == 401
        assert client.post("/api/v1/programs", json={"name": "Sneaky", "start_date": "2027-01-01"}).status_code == 401
        assert set(privileged_attempts(api, partner, key, victim["id"])) == {401}


def test_keys_are_minted_only_for_oneself_and_never_outlive_their_parent(api, partner):
    victim, colleague = partner["victim"], partner["colleague"]
    # A partner admin cannot mint a key for a colleague (that would be impersonation).
    assert colleague["client"].post(f"/api/v1/staff/{victim['id']}/keys", json={}).status_code == 403
    soon = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() + 600))
    short = victim["client"].post(f"/api/v1/staff/{victim['id']}/keys", json={"expires_at": soon}).json()
    child = api(short["key"]).post(f"/api/v1/staff/{victim['id']}/keys", json={})
    assert child.status_code == 201
    assert child.json()["expires_at"] <= short["expires_at"]
    later = api(short["key"]).post(f"/api/v1/staff/{victim['id']}/keys", json={"expires_at": "2027-12-31T00:00:00+00:00"})
    assert later.status_code == 422 and "expires_at" in later.json()["errors"]
    far = victim["client"].post(f"/api/v1/staff/{victim['id']}/keys", json={"expires_at": "9999-12-31T00:00:00+00:00"})
    assert far.status_code == 422 and "expires_at" in far.json()["errors"]
    # A partner admin may still revoke a colleague's key.
    assert colleague["client"].request("DELETE", f"/api/v1/keys/{short['id']}").status_code == 200


def test_an_enrolment_token_works_once(api, partner):
    member = partner["colleague"]["client"].post(f"/api/v1/partners/{partner['id']}/staff", json={
        "name": "Newcomer", "email": f"{unique('new')}@lockout.example", "roles": ["analyst"]}).json()
    first = api().post("/api/v1/enrolments", json={"token": member["enrolment_token"]})
    assert first.status_code == 201 and api(first.json()["key"]).get("/api/v1/me").json()["roles"] == ["analyst"]
    again = api().post("/api/v1/enrolments", json={"token": member["enrolment_token"]})
    assert again.status_code == 401


def test_the_demo_has_someone_still_to_enrol(api, demo):
    pending = next(c for c in demo if "enrolment_token" in c)
    key = api().post("/api/v1/enrolments", json={"token": pending["enrolment_token"]}).json()["key"]
    assert api(key).get("/api/v1/me").json()["staff"]["email"] == pending["email"]
