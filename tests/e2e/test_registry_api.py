"""Partners, programmes, pages and the audit log, as partner staff and admins use them."""
import uuid

import pytest

pytestmark = pytest.mark.e2e


def demo_client(api, demo, partner, role):
    return api(next(c["key"] for c in demo if c["partner"] == partner and role in c["roles"]))


@pytest.fixture(scope="module")
def ngo_admin(platform, demo):
    from harness import Api

    return Api(platform.gateway_url, next(c["key"] for c in demo if c["partner"] == "ngo" and "partner_admin" in c["roles"]))


def test_programme_defaults_follow_the_quality_criteria(ngo_admin):
    created = ngo_admin.post("/api/v1/programs", json={"name": "Defaults", "start_date": "2027-04-01"})
    assert created.status_code == 201
    program = created.json()
    assert (program["group_size_min"], program["group_size_max"]) == (3, 5)
    assert (program["planned_sessions"], program["duration_weeks"]) == (5, 10)
    assert (program["max_days_between_contacts"], program["first_check_in_days"], program["first_check_in_sessions"]) == (14, 30, 2)
    assert (program["match_deadline_days"], program["status"]) == (60, "draft")


@pytest.mark.parametrize(
    "field,value",
    [("duration_weeks", 7), ("duration_weeks", 53), ("group_size_min", 0), ("mode", "postal"),
     ("start_date", "next spring"), ("occupations", ["99999"]), ("sectors", ["29"]), ("planned_sessions", "five")],
)
def test_programme_values_out_of_bounds_are_refused_by_name(ngo_admin, field, value):
    response = ngo_admin.post("/api/v1/programs", json={"name": "Bounds", "start_date": "2027-04-01", field: value})
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_group_size_bounds_are_checked_against_each_other_on_update(ngo_admin):
    program = ngo_admin.post("/api/v1/programs", json={"name": "Sizes", "start_date": "2027-04-01"}).json()
    response = ngo_admin.request("PATCH", f"/api/v1/programs/{program['id']}", json={"group_size_min": 6})
    assert response.status_code == 422 and "group_size_max" in response.json()["errors"]
    assert ngo_admin.request("PATCH", f"/api/v1/programs/{program['id']}", json={"group_size_min": 4}).json()["group_size_min"] == 4


def test_programme_status_moves_forward_one_step_at_a_time(ngo_admin):
    program = ngo_admin.post("/api/v1/programs", json={"name": "Lifecycle", "start_date": "2027-04-01"}).json()
    path = f"/api/v1/programs/{program['id']}/status"
    for status in ("recruiting", "matching", "running", "closed"):
        assert ngo_admin.post(path, json={"status": status}).json()["status"] == status
    assert ngo_admin.post(path, json={"status": "running"}).status_code == 409
    assert ngo_admin.request("PATCH", f"/api/v1/programs/{program['id']}", json={"name": "Too late"}).status_code == 409


def test_lists_page_with_cursors_and_cap_pages_at_200(api, admin_key):
    admin = api(admin_key)
    for n in range(3):
        admin.post("/api/v1/partners", json={"name": f"Paged {uuid.uuid4().hex[:6]} {n}", "kind": "education", "region": "CA-MB"})
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = admin.get("/api/v1/partners", params=params).json()
        assert len(page["items"]) <= 2
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 7
    assert seen == sorted(seen)
    assert admin.get("/api/v1/partners", params={"limit": 201}).status_code == 422
    bad = admin.get("/api/v1/partners", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and "cursor" in bad.json()["errors"]


def test_charter_acceptance_is_recorded_once(api, demo, admin_key):
    # The demo hub has not accepted the charter (the other demo partners have).
    hub = demo_client(api, demo, "hub", "analyst")
    hub_id = hub.get("/api/v1/me").json()["partner"]["id"]
    assert hub.get(f"/api/v1/partners/{hub_id}/charter").json()["accepted"] is False
    # Only a partner admin accepts; the hub's analyst may not.
    assert hub.post(f"/api/v1/partners/{hub_id}/charter", json={"version": "2026-1"}).status_code == 403
    admin = api(admin_key)
    partner_admin = admin.post(f"/api/v1/partners/{hub_id}/staff",
                               json={"name": "Hub Admin", "email": f"{uuid.uuid4().hex[:6]}@hub.example", "roles": ["partner_admin"]}).json()
    hub_admin_key = admin.enrol(partner_admin)
    accepting = api(hub_admin_key)
    assert accepting.post(f"/api/v1/partners/{hub_id}/charter", json={"version": "2025-9"}).status_code == 422
    accepted = accepting.post(f"/api/v1/partners/{hub_id}/charter", json={"version": "2026-1"})
    assert accepted.status_code == 201
    assert accepted.json()["accepted_by"] == partner_admin["id"] and accepted.json()["version"] == "2026-1"
    assert accepting.post(f"/api/v1/partners/{hub_id}/charter", json={"version": "2026-1"}).status_code == 409


def test_privileged_actions_land_in_the_audit_log(api, admin_key, ngo_admin, demo):
    me = ngo_admin.get("/api/v1/me").json()
    partner_id = me["partner"]["id"]
    staff = ngo_admin.post(f"/api/v1/partners/{partner_id}/staff",
                           json={"name": "Audited", "email": f"audited-{uuid.uuid4().hex[:6]}@harbour.example", "roles": ["analyst"]}).json()
    # Keys are minted by their holder: the new analyst mints a second key of their own.
    holder = api(ngo_admin.enrol(staff))
    key = holder.post(f"/api/v1/staff/{staff['id']}/keys", json={}).json()
    ngo_admin.request("PATCH", f"/api/v1/staff/{staff['id']}", json={"roles": ["coordinator"]})
    ngo_admin.request("DELETE", f"/api/v1/keys/{key['id']}")
    assert ngo_admin.request("DELETE", f"/api/v1/staff/{staff['id']}").status_code == 204
    erased = ngo_admin.get(f"/api/v1/staff/{staff['id']}").json()
    assert erased["status"] == "erased" and "Audited" not in str(erased) and "audited-" not in str(erased)

    admin = api(admin_key)
    entries, cursor = [], None
    while True:
        page = admin.get("/api/v1/audit", params={"limit": 200, **({"cursor": cursor} if cursor else {})}).json()
        entries += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    about = {(e["action"], e["target_id"]) for e in entries}
    for action, target in [("staff.created", staff["id"]), ("key.created", key["id"]), ("staff.roles_changed", staff["id"]),
                           ("key.revoked", key["id"]), ("staff.erased", staff["id"])]:
        assert (action, target) in about, action
    assert all(e["actor_staff_id"] for e in entries)
    assert "Audited" not in str(entries)
    assert ngo_admin.get("/api/v1/audit").status_code == 403


def test_a_partner_admin_cannot_erase_themselves(ngo_admin):
    me = ngo_admin.get("/api/v1/me").json()
    response = ngo_admin.request("DELETE", f"/api/v1/staff/{me['staff']['id']}")
    assert response.status_code == 409
    assert ngo_admin.get("/api/v1/me").status_code == 200
