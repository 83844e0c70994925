"""Server-set fields posted to every create and update endpoint are never taken."""
import uuid

import pytest

pytestmark = pytest.mark.e2e

SERVER_SET = {
    "id": "chosen-id",
    "partner_id": "another-partner",
    "status": "active",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
}


def demo_key(demo, partner, role):
    return next(c["key"] for c in demo if c["partner"] == partner and role in c["roles"])


@pytest.fixture(scope="module")
def actors(platform, demo, admin_key):
    from harness import Api

    admin = Api(platform.gateway_url, admin_key)
    ngo_admin = Api(platform.gateway_url, demo_key(demo, "ngo", "partner_admin"))
    me = ngo_admin.get("/api/v1/me").json()
    ngo_id = me["partner"]["id"]
    staff = ngo_admin.post(f"/api/v1/partners/{ngo_id}/staff",
                           json={"name": "Mass Target", "email": f"mass-{uuid.uuid4().hex[:6]}@harbour.example", "roles": ["analyst"]}).json()
    program = ngo_admin.post("/api/v1/programs", json={"name": "Mass Programme", "start_date": "2027-02-01"}).json()
    return {"admin": admin, "ngo_admin": ngo_admin, "ngo_id": ngo_id, "staff_id": staff["id"], "program_id": program["id"],
            "me_id": me["staff"]["id"]}


def cases(a):
    unique = uuid.uuid4().hex[:6]
    return [
        (a["admin"], "POST", "/api/v1/partners", {"name": f"Mass {unique}", "kind": "ngo", "region": "CA-ON"}),
        (a["ngo_admin"], "PATCH", f"/api/v1/partners/{a['ngo_id']}", {"sectors": ["21"]}),
        (a["ngo_admin"], "POST", f"/api/v1/partners/{a['ngo_id']}/staff", {"name": "M", "email": f"m{unique}@harbour.example", "roles": ["analyst"]}),
        (a["ngo_admin"], "PATCH", f"/api/v1/staff/{a['staff_id']}", {"name": "M2"}),
        (a["ngo_admin"], "POST", f"/api/v1/staff/{a['me_id']}/keys", {"label": "l"}),
        (a["ngo_admin"], "POST", "/api/v1/programs", {"name": "Mass P", "start_date": "2027-02-01"}),
        (a["ngo_admin"], "PATCH", f"/api/v1/programs/{a['program_id']}", {"planned_sessions": 6}),
        (a["ngo_admin"], "POST", f"/api/v1/partners/{a['ngo_id']}/webhooks", {"url": "https://127.0.0.1:9/h", "event_types": ["mentee.enrolled"]}),
    ]


@pytest.mark.parametrize("field", sorted(SERVER_SET) + ["roles_escalation", "key", "hash", "secret", "charter", "last_used_at", "revoked_at", "version"])
def test_server_set_fields_are_never_taken(actors, field):
    for client, method, path, body in cases(actors):
        if field == "roles_escalation":
            if "roles" not in body and not path.endswith("/staff") and "/staff/" not in path:
                continue
            tampered = dict(body, roles=["coalition_admin"])
        else:
            tampered = dict(body, **{field: SERVER_SET.get(field, "tampered")})
        response = client.request(method, path, json=tampered)
        assert response.status_code == 422, (method, path, field, response.status_code)
        problem = response.json()
        assert problem["errors"], (method, path, field)
        # The untampered request is accepted: the refusal was about the server-set field.
        assert client.request(method, path, json=cases(actors)[[c[2] for c in cases(actors)].index(path)][3]).status_code in (200, 201)


def test_status_moves_only_through_its_action(actors):
    client, program_id = actors["ngo_admin"], actors["program_id"]
    assert client.request("PATCH", f"/api/v1/programs/{program_id}", json={"status": "running"}).status_code == 422
    assert client.get(f"/api/v1/programs/{program_id}").json()["status"] == "draft"
    assert client.post(f"/api/v1/programs/{program_id}/status", json={"status": "running"}).status_code == 409
    assert client.post(f"/api/v1/programs/{program_id}/status", json={"status": "recruiting"}).json()["status"] == "recruiting"


def test_a_partner_admin_cannot_move_its_own_region_or_hub(actors):
    response = actors["ngo_admin"].request("PATCH", f"/api/v1/partners/{actors['ngo_id']}", json={"region": "CA-BC"})
    assert response.status_code == 422 and "region" in response.json()["errors"]
