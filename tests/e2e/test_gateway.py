"""Through the gateway, with every service running on the real broker and database."""
import pytest

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def credentials_for(demo, partner, role):
    return next(c["key"] for c in demo if c["partner"] == partner and role in c["roles"])


def test_readyz_lists_every_service_as_ok(api):
    response = api().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    for name in ("broker", "registry", "matching", "mentor_bank", "reporting"):
        assert body["checks"][name] == "ok"


def test_healthz_and_request_ids(api):
    response = api().get("/healthz", headers={"X-Request-ID": "trace-me-42"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "trace-me-42"
    assert len(api().get("/healthz").headers["X-Request-ID"]) == 32


def test_me_answers_who_the_caller_is(api, demo):
    key = credentials_for(demo, "ngo", "coordinator")
    response = api(key).get("/api/v1/me")
    assert response.status_code == 200
    me = response.json()
    assert me["roles"] == ["coordinator"]
    assert me["staff"]["email"] == "tomas.novak@harbour.example"
    assert me["partner"]["name"] == "Harbour Newcomer Services"


def test_admin_key_from_bootstrap_works_and_is_stored_hashed(api, admin_key, platform):
    response = api(admin_key).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json()["roles"] == ["coalition_admin"]
    stored = list(platform.database("registry").api_keys.find({}))
    assert stored and all(admin_key not in str(doc) for doc in stored)


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer cmk_00000000_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer " + "x" * 500],
)
def test_missing_or_invalid_keys_get_401_problem(api, demo, header):
    headers = {"Authorization": header} if header else {}
    response = api().get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "body,content_type,status,field",
    [
        ('{"name": "Half', "application/json", 400, None),
        ('{"name": 5, "kind": "ngo", "region": "CA-ON"}', "application/json", 422, "name"),
        ('{"name": "Org A", "kind": "bank", "region": "CA-ON"}', "application/json", 422, "kind"),
        ('{"name": "Org B", "kind": "ngo", "region": "Ontario"}', "application/json", 422, "region"),
        ('{"name": "Org C", "kind": "ngo", "region": "CA-ON", "colour": "red"}', "application/json", 422, "colour"),
        ('[1, 2]', "application/json", 422, "_schema"),
        ('name=Org', "application/x-www-form-urlencoded", 422, "name"),
    ],
)
def test_bad_input_gets_a_problem_naming_the_field_and_writes_nothing(api, admin_key, platform, body, content_type, status, field):
    before = platform.database("registry").partners.count_documents({})
    response = api(admin_key).post("/api/v1/partners", data=body, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["title"]
    if field:
        assert field in problem["errors"]
    assert platform.database("registry").partners.count_documents({}) == before


@pytest.mark.parametrize("field,value", [("id", "chosen-id"), ("status", "suspended"), ("created_at", "2020-01-01T00:00:00Z")])
def test_server_set_fields_are_refused(api, admin_key, field, value):
    body = {"name": f"Mass Assign {field}", "kind": "ngo", "region": "CA-ON", field: value}
    response = api(admin_key).post("/api/v1/partners", json=body)
    assert response.status_code == 422
    assert field in response.json()["errors"]


def test_admin_registers_a_partner(api, admin_key):
    response = api(admin_key).post("/api/v1/partners", json={"name": "Riverside College", "kind": "education", "region": "CA-ON", "sectors": ["23"]})
    assert response.status_code == 201
    partner = response.json()
    assert partner["status"] == "active" and partner["id"]
    assert api(admin_key).get(f"/api/v1/partners/{partner['id']}").json()["name"] == "Riverside College"
    duplicate = api(admin_key).post("/api/v1/partners", json={"name": "Riverside College", "kind": "education", "region": "CA-ON"})
    assert duplicate.status_code == 409


def test_wrong_role_gets_403(api, demo):
    coordinator = credentials_for(demo, "ngo", "coordinator")
    response = api(coordinator).post("/api/v1/partners", json={"name": "Sneaky Org", "kind": "ngo", "region": "CA-ON"})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == PROBLEM


def test_another_tenants_partner_answers_404(api, demo):
    ngo = api(credentials_for(demo, "ngo", "coordinator"))
    employer = api(credentials_for(demo, "employer", "recruiter"))
    hub = api(credentials_for(demo, "hub", "analyst"))
    own_id = ngo.get("/api/v1/me").json()["partner"]["id"]
    employer_id = employer.get("/api/v1/me").json()["partner"]["id"]
    assert ngo.get(f"/api/v1/partners/{own_id}").status_code == 200
    hidden = ngo.get(f"/api/v1/partners/{employer_id}")
    missing = ngo.get("/api/v1/partners/00000000000000000000000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["detail"] == missing.json()["detail"]
    # The hub's analyst reads the partners that report to the hub.
    assert hub.get(f"/api/v1/partners/{own_id}").status_code == 200


def test_unknown_paths_and_methods_are_problems(api):
    assert api().get("/api/v1/nowhere").headers["Content-Type"] == PROBLEM
    response = api().request("DELETE", "/api/v1/me")
    assert response.status_code == 405 and response.headers["Content-Type"] == PROBLEM


def test_openapi_document_and_docs_ui(api):
    spec = api().get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1/me", "/api/v1/partners", "/api/v1/partners/{partner_id}"} <= set(spec["paths"])
    create = spec["paths"]["/api/v1/partners"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert create["$ref"].endswith("/Partner")  # the registry's own schema: one definition per contract
    docs = api().get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert api().get("/api/docs/assets/swagger-ui-bundle.js").status_code == 200
