"""3 partners × 5 roles × every endpoint that takes an object id, for read, update and delete.

The wrong tenant gets 404, the wrong role 403; nothing crosses tenants. Expectations come from
the access rules written out below, not from what the server happens to answer."""
import itertools
import uuid

import pytest

pytestmark = pytest.mark.e2e

PARTNER_ROLES = ("partner_admin", "coordinator", "recruiter", "analyst")
ALL_ROLES = ("coalition_admin",) + PARTNER_ROLES
ADMINS = ("coalition_admin", "partner_admin")
RUNNERS = ("partner_admin", "coordinator")
PROGRAM_READERS = ("coalition_admin", "partner_admin", "coordinator", "analyst")
OK = {200, 201, 204}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Coalition:
    """Three partners, each with one staff member per partner role, built through the API."""

    def __init__(self, api, admin_key):
        self.api = api
        self.admin = api(admin_key)
        self.partners = {}
        self.keys = {}  # (partner, role) -> key
        self.staff = {}  # (partner, role) -> staff id
        for label, kind in (("A", "ngo"), ("B", "employer"), ("C", "industry_association")):
            partner = self.admin.post("/api/v1/partners", json={"name": unique(f"Matrix {label}"), "kind": kind, "region": "CA-NS"}).json()
            self.partners[label] = partner["id"]
            for role in PARTNER_ROLES:
                member = self.admin.post(f"/api/v1/partners/{partner['id']}/staff",
                                         json={"name": f"{label} {role}", "email": f"{unique(role)}@{label.lower()}.example", "roles": [role]}).json()
                self.staff[(label, role)] = member["id"]
                self.keys[(label, role)] = self.admin.post(f"/api/v1/staff/{member['id']}/keys", json={}).json()["key"]
        self.keys[(None, "coalition_admin")] = admin_key

    def as_role(self, partner, role):
        return self.api(self.keys[(partner, role)])

    def partner_admin(self, partner):
        return self.as_role(partner, "partner_admin")

    # Fresh objects in a partner, made by people allowed to make them.
    def new_staff(self, partner):
        return self.admin.post(f"/api/v1/partners/{self.partners[partner]}/staff",
                               json={"name": "Target", "email": f"{unique('target')}@t.example", "roles": ["coordinator"]}).json()["id"]

    def new_key(self, partner):
        return self.admin.post(f"/api/v1/staff/{self.new_staff(partner)}/keys", json={}).json()["id"]

    def new_program(self, partner):
        response = self.partner_admin(partner).post("/api/v1/programs", json={"name": unique("Programme"), "start_date": "2027-01-15"})
        return response.json()["id"]

    def new_webhook(self, partner):
        response = self.partner_admin(partner).post(f"/api/v1/partners/{self.partners[partner]}/webhooks",
                                                    json={"url": "https://127.0.0.1:9/hook", "event_types": ["mentee.enrolled"]})
        return response.json()["id"]


# Each endpoint: (name, method, path template, kind of object, roles allowed, body, statuses that
# mean "allowed", whether only the holder / a partner admin may act on another person's keys).
ENDPOINTS = [
    ("read partner", "GET", "/api/v1/partners/{id}", "partner", ALL_ROLES, None, OK, False),
    ("update partner", "PATCH", "/api/v1/partners/{id}", "partner", ADMINS, lambda: {"sectors": ["21"]}, OK, False),
    ("suspend partner", "POST", "/api/v1/partners/{id}/suspend", "partner", ("coalition_admin",), None, OK, False),
    ("read charter", "GET", "/api/v1/partners/{id}/charter", "partner", ALL_ROLES, None, OK, False),
    ("accept charter", "POST", "/api/v1/partners/{id}/charter", "partner", ("partner_admin",), lambda: {"version": "2026-1"}, OK | {409}, False),
    ("list staff", "GET", "/api/v1/partners/{id}/staff", "partner", ADMINS, None, OK, False),
    ("add staff", "POST", "/api/v1/partners/{id}/staff", "partner", ADMINS,
     lambda: {"name": "New", "email": f"{unique('new')}@n.example", "roles": ["analyst"]}, OK, False),
    ("list webhooks", "GET", "/api/v1/partners/{id}/webhooks", "partner", ADMINS, None, OK, False),
    ("add webhook", "POST", "/api/v1/partners/{id}/webhooks", "partner", ("partner_admin",),
     lambda: {"url": "https://127.0.0.1:9/hook", "event_types": ["mentor.registered"]}, OK, False),
    ("read staff", "GET", "/api/v1/staff/{id}", "staff", ALL_ROLES, None, OK, False),
    ("update staff", "PATCH", "/api/v1/staff/{id}", "staff", ADMINS, lambda: {"name": "Renamed"}, OK, False),
    ("erase staff", "DELETE", "/api/v1/staff/{id}", "fresh staff", ADMINS, None, OK, False),
    ("list keys", "GET", "/api/v1/staff/{id}/keys", "staff", ALL_ROLES, None, OK, True),
    ("issue key", "POST", "/api/v1/staff/{id}/keys", "staff", ALL_ROLES, lambda: {}, OK, True),
    ("revoke key", "DELETE", "/api/v1/keys/{id}", "fresh key", ALL_ROLES, None, OK, True),
    ("read programme", "GET", "/api/v1/programs/{id}", "program", PROGRAM_READERS, None, OK, False),
    ("update programme", "PATCH", "/api/v1/programs/{id}", "program", RUNNERS, lambda: {"planned_sessions": 6}, OK, False),
    ("move programme", "POST", "/api/v1/programs/{id}/status", "program", RUNNERS, lambda: {"status": "closed"}, OK | {409}, False),
    ("delete programme", "DELETE", "/api/v1/programs/{id}", "fresh program", RUNNERS, None, OK, False),
    ("read webhook", "GET", "/api/v1/webhooks/{id}", "webhook", ADMINS, None, OK, False),
    ("deliveries", "GET", "/api/v1/webhooks/{id}/deliveries", "webhook", ADMINS, None, OK, False),
    ("delete webhook", "DELETE", "/api/v1/webhooks/{id}", "fresh webhook", ("partner_admin",), None, OK, False),
]


def expected_statuses(caller_partner, role, target_partner, endpoint):
    _, _, _, _, roles, _, allowed, holder_only = endpoint
    if role not in roles:
        return {403}
    if role == "coalition_admin":
        return allowed
    if caller_partner != target_partner:
        return {404}
    if holder_only and role != "partner_admin":
        return {403}  # another person's keys at one's own partner
    return allowed


@pytest.fixture(scope="module")
def coalition(api, admin_key):
    return Coalition(api, admin_key)


def target_id(coalition, kind, partner, made={}):
    if kind == "partner":
        return coalition.partners[partner]
    if kind in ("staff", "program", "webhook"):
        # One lasting object per partner and kind; destructive endpoints get "fresh" ones.
        if (kind, partner) not in made:
            made[(kind, partner)] = target_id(coalition, "fresh " + kind, partner)
        return made[(kind, partner)]
    if kind == "fresh staff":
        return coalition.new_staff(partner)
    if kind == "fresh key":
        return coalition.new_key(partner)
    if kind == "fresh program":
        return coalition.new_program(partner)
    if kind == "fresh webhook":
        return coalition.new_webhook(partner)
    raise AssertionError(kind)


def test_authorisation_matrix_finds_no_cross_tenant_access(coalition):
    callers = [(p, r) for p, r in itertools.product("ABC", PARTNER_ROLES)] + [(None, "coalition_admin")]
    mismatches, cross_tenant_successes, checked = [], [], 0
    for endpoint in ENDPOINTS:
        name, method, path, kind, _, body, _, _ = endpoint
        for target_partner in "ABC":
            for caller_partner, role in callers:
                # Suspending would lock the partner out for the rest of the matrix: run it last, per partner.
                if name == "suspend partner" and role == "coalition_admin":
                    continue
                object_id = target_id(coalition, kind, target_partner)
                response = coalition.as_role(caller_partner, role).request(
                    method, path.format(id=object_id), json=body() if body else None)
                checked += 1
                expected = expected_statuses(caller_partner, role, target_partner, endpoint)
                if response.status_code not in expected:
                    mismatches.append((name, role, caller_partner, target_partner, response.status_code, sorted(expected)))
                if role != "coalition_admin" and caller_partner != target_partner and response.status_code < 400:
                    cross_tenant_successes.append((name, role, caller_partner, target_partner))
    assert cross_tenant_successes == []
    assert mismatches == []
    assert checked >= 3 * 13 * len(ENDPOINTS) - 3


@pytest.mark.parametrize("credential", ["missing", "invalid", "expired", "revoked"])
def test_every_object_endpoint_refuses_bad_keys_with_401(coalition, credential, api):
    import time

    admin = coalition.admin
    if credential == "missing":
        client = api()
    elif credential == "invalid":
        client = api("cmk_00000000_" + uuid.uuid4().hex)
    elif credential == "expired":
        import datetime

        soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).isoformat()
        key = admin.post(f"/api/v1/staff/{coalition.staff[('A', 'partner_admin')]}/keys", json={"expires_at": soon}).json()["key"]
        client = api(key)
        assert client.get("/api/v1/me").status_code == 200
        time.sleep(2.5)
    else:
        issued = admin.post(f"/api/v1/staff/{coalition.staff[('A', 'partner_admin')]}/keys", json={}).json()
        client = api(issued["key"])
        assert client.get("/api/v1/me").status_code == 200
        assert admin.request("DELETE", f"/api/v1/keys/{issued['id']}").status_code == 200
        time.sleep(2.5)  # the gateway's identity cache, 2 s in this test run (30 s at most)
    for name, method, path, _, _, body, _, _ in ENDPOINTS:
        response = client.request(method, path.format(id=coalition.partners["A"]), json=body() if body else None)
        assert response.status_code == 401, (name, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"


def test_suspending_a_partner_blocks_all_its_keys(coalition, api):
    import time

    keys = [coalition.keys[("C", role)] for role in PARTNER_ROLES]
    assert all(api(k).get("/api/v1/me").status_code == 200 for k in keys)
    assert coalition.admin.post(f"/api/v1/partners/{coalition.partners['C']}/suspend").status_code == 200
    time.sleep(2.5)
    assert all(api(k).get("/api/v1/me").status_code == 401 for k in keys)
    assert coalition.admin.post(f"/api/v1/partners/{coalition.partners['C']}/reinstate").status_code == 200
    time.sleep(2.5)
    assert all(api(k).get("/api/v1/me").status_code == 200 for k in keys)
