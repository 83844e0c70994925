"""The inputs and races that once gave 500s or invalid data, replayed against the running
platform: every one answers 4xx problem+json, and what is stored stays valid."""
import threading
import uuid

import pytest

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
SURROGATE = '"\\ud800"'  # a lone UTF-16 surrogate, as JSON text


def key_of(demo, role):
    return next(c["key"] for c in demo if c["partner"] == "ngo" and role in c["roles"])


@pytest.fixture(scope="module")
def ngo(api, demo):
    admin = api(key_of(demo, "partner_admin"))
    me = admin.get("/api/v1/me").json()
    return {"client": admin, "partner_id": me["partner"]["id"], "staff_id": me["staff"]["id"]}


def raw(client, method, path, text):
    return client.request(method, path, data=text.encode("utf-8", "surrogatepass"), headers={"Content-Type": "application/json"})


def stored_strings(platform):
    """Every string the registry holds, so a test can see that nothing half-written stayed."""
    database = platform.database("registry")
    return str([list(database[name].find({})) for name in ("partners", "staff", "api_keys", "programs", "webhooks")])


def bodies(ngo):
    """(method, path, JSON text with a lone surrogate in a stored string) for each kind of object."""
    p, s = ngo["partner_id"], ngo["staff_id"]
    return [
        ("POST", f"/api/v1/staff/{s}/keys", '{"label": %s}' % SURROGATE),
        ("PATCH", f"/api/v1/partners/{p}", '{"name": %s}' % SURROGATE),
        ("POST", f"/api/v1/partners/{p}/staff", '{"name": %s, "email": "x@y.example", "roles": ["analyst"]}' % SURROGATE),
        ("POST", "/api/v1/programs", '{"name": "Ok name", "start_date": "2027-01-01", "referrals": [%s]}' % SURROGATE),
    ]


def test_lone_surrogates_in_stored_strings_are_refused_by_name(platform, ngo):
    before = stored_strings(platform)
    for method, path, text in bodies(ngo):
        response = raw(ngo["client"], method, path, text)
        assert response.status_code == 422, (path, response.status_code, response.text[:200])
        assert response.headers["Content-Type"] == PROBLEM and response.json()["errors"], path
    assert stored_strings(platform) == before


@pytest.mark.parametrize("text,status", [
    ("[" * 1000 + "]" * 1000, 400),  # nested 1,000 deep
    ('{"planned_sessions": ' + "9" * 4301 + "}", 400),  # past Python's int-from-text limit
    ('{"planned_sessions": 3.5}', 422),
    ('{"planned_sessions": "4"}', 422),
    ('{"planned_sessions": true}', 422),
])
def test_deep_huge_and_loose_numbers_answer_4xx(ngo, text, status):
    program = ngo["client"].post("/api/v1/programs", json={"name": "Numbers", "start_date": "2027-01-01"}).json()
    response = raw(ngo["client"], "PATCH", f"/api/v1/programs/{program['id']}", text)
    assert response.status_code == status and response.headers["Content-Type"] == PROBLEM
    assert ngo["client"].get(f"/api/v1/programs/{program['id']}").json()["planned_sessions"] == 5


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59+00:00", "2026-01-01T00:00:00"])
def test_expiry_dates_that_overflow_or_lack_an_offset_are_refused(ngo, expires_at):
    response = ngo["client"].post(f"/api/v1/staff/{ngo['staff_id']}/keys", json={"expires_at": expires_at})
    assert response.status_code == 422 and "expires_at" in response.json()["errors"]


@pytest.mark.parametrize("name", ["Harbour\u200bNewcomer", "Harbour Newcomer Services ", "\u039dorthwind Engineering", "Nul\x00Org", "   "])
def test_look_alike_partner_names_are_refused_or_collide(api, admin_key, name):
    response = api(admin_key).post("/api/v1/partners", json={"name": name, "kind": "ngo", "region": "CA-ON"})
    # A trailing space is trimmed, and the name then collides with the demo partner's.
    assert response.status_code in (409, 422), (name, response.status_code)
    assert "name" in response.json()["errors"]


def test_staff_email_is_unique_per_partner_ignoring_case_and_tells_nothing_about_others(api, demo, ngo):
    partner = ngo["client"]
    taken = partner.post(f"/api/v1/partners/{ngo['partner_id']}/staff", json={
        "name": "Case Test", "email": "TOMAS.NOVAK@harbour.example", "roles": ["analyst"]})
    assert taken.status_code == 409 and "email" in taken.json()["errors"]
    # An address used at another partner is no business of this one: it is simply accepted.
    elsewhere = partner.post(f"/api/v1/partners/{ngo['partner_id']}/staff", json={
        "name": "Same Person", "email": "priya.raman@northwind.example", "roles": ["analyst"]})
    assert elsewhere.status_code == 201


def race(*calls):
    """Run the calls at once; their responses in order."""
    results = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(i, call):
        start.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_two_patches_at_once_never_leave_min_above_max(ngo, attempt):
    client = ngo["client"]
    program = client.post("/api/v1/programs", json={"name": f"Race {uuid.uuid4().hex[:6]}", "start_date": "2027-01-01",
                                                      "group_size_min": 3, "group_size_max": 5}).json()
    path = f"/api/v1/programs/{program['id']}"
    answers = race(lambda: client.request("PATCH", path, json={"group_size_min": 5}),
                   lambda: client.request("PATCH", path, json={"group_size_max": 3}))
    assert sorted(a.status_code for a in answers) in ([200, 409], [200, 422]), [a.text for a in answers]
    stored = client.get(path).json()
    assert stored["group_size_min"] <= stored["group_size_max"]


@pytest.mark.parametrize("attempt", range(5))
def test_three_identical_transitions_at_once_have_one_winner(ngo, attempt):
    client = ngo["client"]
    program = client.post("/api/v1/programs", json={"name": "Transition race", "start_date": "2027-01-01"}).json()
    path = f"/api/v1/programs/{program['id']}/status"
    answers = race(*[lambda: client.post(path, json={"status": "recruiting"})] * 3)
    assert sorted(a.status_code for a in answers) == [200, 409, 409]
    assert client.get(f"/api/v1/programs/{program['id']}").json()["status"] == "recruiting"


@pytest.mark.parametrize("attempt", range(5))
def test_a_transition_racing_a_delete_never_answers_200_for_a_deleted_programme(ngo, attempt):
    client = ngo["client"]
    program = client.post("/api/v1/programs", json={"name": "Delete race", "start_date": "2027-01-01"}).json()
    path = f"/api/v1/programs/{program['id']}"
    moved, deleted = race(lambda: client.post(path + "/status", json={"status": "recruiting"}),
                          lambda: client.request("DELETE", path))
    assert {moved.status_code, deleted.status_code} <= {200, 204, 404, 409}
    assert not (moved.status_code == 200 and deleted.status_code == 204), "both won"
    after = client.get(path)
    if deleted.status_code == 204:
        assert after.status_code == 404
    else:
        assert after.json()["status"] == "recruiting"


def test_a_stale_if_match_is_refused_and_a_fresh_one_accepted(ngo):
    client = ngo["client"]
    program = client.post("/api/v1/programs", json={"name": "Etag", "start_date": "2027-01-01"})
    tag = program.headers.get("ETag") or client.get(f"/api/v1/programs/{program.json()['id']}").headers["ETag"]
    path = f"/api/v1/programs/{program.json()['id']}"
    assert client.request("PATCH", path, json={"planned_sessions": 6}, headers={"If-Match": tag}).status_code == 200
    stale = client.request("PATCH", path, json={"planned_sessions": 7}, headers={"If-Match": tag})
    assert stale.status_code == 412 and stale.headers["Content-Type"] == PROBLEM
    fresh = client.get(path).headers["ETag"]
    assert client.request("PATCH", path, json={"planned_sessions": 7}, headers={"If-Match": fresh}).json()["planned_sessions"] == 7


def test_api_responses_are_not_stored_or_sniffed(api, demo):
    response = api(key_of(demo, "partner_admin")).get("/api/v1/me")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in response.headers
    docs = api().get("/api/docs")
    assert "frame-ancestors 'none'" in docs.headers["Content-Security-Policy"]


def test_a_cursor_or_etag_the_api_never_gave_out_is_a_4xx(ngo):
    client = ngo["client"]
    # {"after": "\ud800"}: valid base64 and JSON, but no id of ours.
    response = client.get("/api/v1/programs", params={"cursor": "eyJhZnRlciI6Ilx1ZDgwMCJ9"})
    assert response.status_code == 422 and "cursor" in response.json()["errors"]
    program = client.post("/api/v1/programs", json={"name": "Odd etag", "start_date": "2027-01-01"}).json()
    response = client.request("PATCH", f"/api/v1/programs/{program['id']}", json={"planned_sessions": 6}, headers={"If-Match": '"²"'})
    assert response.status_code == 412 and response.headers["Content-Type"] == PROBLEM
