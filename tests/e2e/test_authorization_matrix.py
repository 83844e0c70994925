"""Every role of four partners (one of them a regional hub) and a coalition admin, against every
endpoint that takes an object id, every list, suspension and self-managed keys.

Expectations come from the access policy table (`coalition_common.policy`), the same table the
gateway and the services enforce: a role the action does not allow gets 403; a tenant the
action's tenancy rule does not reach gets 404; nothing crosses tenants."""
import itertools
import time
import uuid

import pytest

from coalition_common import policy

from profiles import mentee_csv, mentee_profile, mentee_row, mentor_profile

pytestmark = pytest.mark.e2e

PARTNERS = {"H": "regional_hub", "A": "ngo", "B": "employer", "C": "industry_association"}
HUB_OF = {"A": "H", "B": "H"}  # C reports to no hub
OK = {200, 201, 204}


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Coalition:
    """Four partners, each with one staff member per partner role, built through the API; every
    key comes from its holder's own enrolment token."""

    def __init__(self, api, admin_key):
        self.api = api
        self.admin = api(admin_key)
        self.partners, self.keys, self.staff = {}, {}, {}
        for label, kind in PARTNERS.items():
            body = {"name": unique(f"Matrix {label}"), "kind": kind, "region": "CA-NS"}
            if label in HUB_OF:
                body["hub_id"] = self.partners[HUB_OF[label]]
            self.partners[label] = self.admin.post("/api/v1/partners", json=body).json()["id"]
            for role in policy.PARTNER_ROLES:
                member = self.admin.post(f"/api/v1/partners/{self.partners[label]}/staff", json={
                    "name": f"{label} {role}", "email": f"{unique(role)}@{label.lower()}.example", "roles": [role]}).json()
                self.staff[(label, role)] = member["id"]
                self.keys[(label, role)] = self.enrol(member["enrolment_token"])
        self.keys[(None, "coalition_admin")] = admin_key
        self.staff[(None, "coalition_admin")] = self.admin.get("/api/v1/me").json()["staff"]["id"]

    def enrol(self, token):
        answer = self.api().post("/api/v1/enrolments", json={"token": token})
        assert answer.status_code == 201, answer.text
        return answer.json()["key"]

    def as_role(self, partner, role):
        return self.api(self.keys[(partner, role)])

    # Fresh objects in a partner, made by people allowed to make them.
    def new_staff(self, partner):
        return self.admin.post(f"/api/v1/partners/{self.partners[partner]}/staff",
                               json={"name": "Target", "email": f"{unique('target')}@t.example", "roles": ["coordinator"]}).json()

    def new_key(self, partner, role):
        """A key of (partner, role)'s own, minted by its holder."""
        return self.as_role(partner, role).post(f"/api/v1/staff/{self.staff[(partner, role)]}/keys", json={}).json()["id"]

    def new_program(self, partner):
        response = self.as_role(partner, "partner_admin").post("/api/v1/programs", json={"name": unique("Programme"), "start_date": "2027-01-15"})
        return response.json()["id"]

    def new_mentor(self, partner):
        response = self.as_role(partner, "recruiter").post("/api/v1/mentors", json=mentor_profile())
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def new_mentor_import(self, partner):
        """A one-row import by the partner's recruiter: the template's example row."""
        recruiter = self.as_role(partner, "recruiter")
        template = recruiter.get("/api/v1/mentors/imports/template").text
        response = recruiter.post("/api/v1/mentors/imports", data=template.encode(), headers={"Content-Type": "text/csv"})
        assert response.status_code in (200, 201, 202), response.text
        return response.json()["id"]

    def new_matching_run(self, partner):
        """A run of a fresh programme of the partner's, started by its coordinator."""
        program_id = self.new_program(partner)
        response = self.as_role(partner, "coordinator").post(f"/api/v1/programs/{program_id}/matching-runs")
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def new_group(self, partner, approved=False):
        """A proposal as a matching run writes it, straight into the matching database: this test
        is about who reaches it, not about matching. Its mentor does not exist, so an approval
        that gets past the access checks answers 409 (the mentor bank refuses the hold)."""
        import datetime

        from coalition_common.ids import new_id, utcnow

        run_id, now = new_id(), utcnow()
        approvals = [{"staff_id": "someone", "at": now}, {"staff_id": "another", "at": now}] if approved else []
        group = {"_id": f"{run_id}-0001", "program_id": new_id(), "partner_id": self.partners[partner], "run_id": run_id,
                 "mentor_id": new_id(), "mentor_partner_id": self.partners[partner], "mentee_ids": [], "common": {}, "rule_set": "default",
                 "score": 0.0, "members": [], "status": "approved" if approved else "proposed", "approvals": approvals,
                 "reserved": approved, "expires_at": now + datetime.timedelta(days=14), "version": 1, "created_at": now, "outbox": []}
        self.platform.database("matching").groups.insert_one(group)
        return group["_id"]

    def new_mentee(self, partner):
        response = self.as_role(partner, "coordinator").post("/api/v1/mentees", json=mentee_profile())
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def new_mentee_import(self, partner):
        response = self.as_role(partner, "coordinator").post("/api/v1/mentees/imports", data=mentee_csv([mentee_row()]).encode(),
                                                             headers={"Content-Type": "text/csv"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def new_webhook(self, partner):
        response = self.as_role(partner, "partner_admin").post(f"/api/v1/partners/{self.partners[partner]}/webhooks",
                                                               json={"url": "https://127.0.0.1:9/hook", "event_types": ["mentee.enrolled"]})
        return response.json()["id"]


# (name, method, path, what the id names, action, body, statuses that mean "done")
ENDPOINTS = [
    ("read partner", "GET", "/api/v1/partners/{id}", "partner", "partner.read", None, OK),
    ("update partner", "PATCH", "/api/v1/partners/{id}", "partner", "partner.update", lambda: {"sectors": ["21"]}, OK),
    ("read charter", "GET", "/api/v1/partners/{id}/charter", "partner", "charter.read", None, OK),
    ("accept charter", "POST", "/api/v1/partners/{id}/charter", "partner", "charter.accept", lambda: {"version": "2026-1"}, OK | {409}),
    ("list staff", "GET", "/api/v1/partners/{id}/staff", "partner", "staff.list", None, OK),
    ("add staff", "POST", "/api/v1/partners/{id}/staff", "partner", "staff.add",
     lambda: {"name": "New", "email": f"{unique('new')}@n.example", "roles": ["analyst"]}, OK),
    ("list webhooks", "GET", "/api/v1/partners/{id}/webhooks", "partner", "webhook.list", None, OK),
    ("add webhook", "POST", "/api/v1/partners/{id}/webhooks", "partner", "webhook.register",
     lambda: {"url": "https://127.0.0.1:9/hook", "event_types": ["mentor.registered"]}, OK),
    ("read staff", "GET", "/api/v1/staff/{id}", "staff", "staff.read", None, OK),
    ("update staff", "PATCH", "/api/v1/staff/{id}", "staff", "staff.update", lambda: {"name": "Renamed"}, OK),
    ("erase staff", "DELETE", "/api/v1/staff/{id}", "fresh staff", "staff.erase", None, OK),
    ("new enrolment", "POST", "/api/v1/staff/{id}/enrolment", "staff", "enrolment.issue", None, OK),
    ("list own keys", "GET", "/api/v1/staff/{id}/keys", "own staff", "key.list", None, OK),
    ("list keys", "GET", "/api/v1/staff/{id}/keys", "staff", "key.list", None, OK),
    ("mint own key", "POST", "/api/v1/staff/{id}/keys", "own staff", "key.issue", lambda: {}, OK),
    ("mint key for another", "POST", "/api/v1/staff/{id}/keys", "staff", "key.issue", lambda: {}, OK),
    ("revoke own key", "DELETE", "/api/v1/keys/{id}", "own fresh key", "key.revoke", None, OK),
    ("revoke another's key", "DELETE", "/api/v1/keys/{id}", "fresh key", "key.revoke", None, OK),
    ("read programme", "GET", "/api/v1/programs/{id}", "program", "program.read", None, OK),
    ("update programme", "PATCH", "/api/v1/programs/{id}", "program", "program.update", lambda: {"planned_sessions": 6}, OK),
    ("move programme", "POST", "/api/v1/programs/{id}/status", "program", "program.transition", lambda: {"status": "closed"}, OK | {409}),
    ("delete programme", "DELETE", "/api/v1/programs/{id}", "fresh program", "program.delete", None, OK),
    ("read webhook", "GET", "/api/v1/webhooks/{id}", "webhook", "webhook.read", None, OK),
    ("deliveries", "GET", "/api/v1/webhooks/{id}/deliveries", "webhook", "webhook.deliveries", None, OK),
    ("delete webhook", "DELETE", "/api/v1/webhooks/{id}", "fresh webhook", "webhook.delete", None, OK),
    # No partner here accepted the charter: a mentor reaches only its own partner's staff.
    ("read mentor", "GET", "/api/v1/mentors/{id}", "mentor", "mentor.read", None, OK),
    ("update mentor", "PATCH", "/api/v1/mentors/{id}", "mentor", "mentor.update", lambda: {"city": "Halifax"}, OK),
    ("move mentor", "POST", "/api/v1/mentors/{id}/status", "mentor", "mentor.transition", lambda: {"status": "screened"}, OK | {409}),
    ("record screening", "PUT", "/api/v1/mentors/{id}/screening", "mentor", "mentor.screening",
     lambda: {"background_check": "pending"}, OK),
    ("record orientation", "PUT", "/api/v1/mentors/{id}/orientation", "mentor", "mentor.orientation",
     lambda: {"completed_at": "2026-09-01T09:00:00+00:00"}, OK),
    ("change sharing", "PUT", "/api/v1/mentors/{id}/sharing", "mentor", "mentor.sharing",
     lambda: {"scope": "own_partner", "consent_text_version": "2026-1", "consented_at": "2026-09-01T09:00:00+00:00"}, OK),
    ("sharing history", "GET", "/api/v1/mentors/{id}/sharing", "mentor", "mentor.sharing", None, OK),
    ("erase mentor", "DELETE", "/api/v1/mentors/{id}", "fresh mentor", "mentor.erase", None, OK),
    ("read import", "GET", "/api/v1/mentors/imports/{id}", "mentor import", "mentor.import", None, OK),
    # Mentees: their own partner's runners only; enrolment only in the caller's partner's programme.
    ("read mentee", "GET", "/api/v1/mentees/{id}", "mentee", "mentee.read", None, OK),
    ("update mentee", "PATCH", "/api/v1/mentees/{id}", "mentee", "mentee.update", lambda: {"city": "Halifax"}, OK),
    ("admit mentee", "POST", "/api/v1/mentees/{id}/admission", "mentee", "mentee.admit", lambda: {}, OK | {409}),
    ("withdraw mentee", "POST", "/api/v1/mentees/{id}/withdrawal", "fresh mentee", "mentee.withdraw", lambda: {"reason": "other"}, OK),
    ("erase mentee", "DELETE", "/api/v1/mentees/{id}", "fresh mentee", "mentee.erase", None, OK),
    ("read mentee import", "GET", "/api/v1/mentees/imports/{id}", "mentee import", "mentee.import", None, OK),
    # A fresh programme (the lasting one may have been closed above) and its partner's own waiting
    # mentee, so that only the programme decides the answer.
    ("enrol mentee", "POST", "/api/v1/programs/{id}/mentees", "fresh program", "mentee.enrol",
     lambda coalition, partner: {"mentee_id": coalition.new_mentee(partner)}, OK),
    # Review of proposals: the programme's own partner only. Edits of an approved group answer 409.
    ("read group", "GET", "/api/v1/groups/{id}", "group", "group.read", None, OK),
    ("approve group", "POST", "/api/v1/groups/{id}/approvals", "group", "group.approve", None, OK | {409}),
    ("reject group", "POST", "/api/v1/groups/{id}/rejection", "fresh group", "group.reject", None, OK),
    ("move mentee", "POST", "/api/v1/groups/{id}/members", "approved group", "group.edit",
     lambda: {"mentee_id": uuid.uuid4().hex, "from_group_id": f"{uuid.uuid4().hex}-0001"}, OK | {409}),
    ("swap mentor", "PUT", "/api/v1/groups/{id}/mentor", "approved group", "group.edit", lambda: {"mentor_id": uuid.uuid4().hex}, OK | {409}),
    # Matching: the programme's own partner only (a hub reads its members' programmes, not matches them).
    ("read matching settings", "GET", "/api/v1/programs/{id}/matching-settings", "program", "matching.settings", None, OK),
    ("set matching settings", "PUT", "/api/v1/programs/{id}/matching-settings", "program", "matching.settings",
     lambda: {"min_language_level": "B2"}, OK),
    # A run already queued or running for the programme answers 409; so does a closed programme.
    ("start matching run", "POST", "/api/v1/programs/{id}/matching-runs", "program", "matching.run", None, OK | {202, 409}),
    ("read matching run", "GET", "/api/v1/matching-runs/{id}", "matching run", "matching.read", None, OK),
]
def payload(body, coalition, partner):
    """A request body; one naming an object of the target partner's takes (coalition, partner)."""
    if body is None:
        return None
    return body(coalition, partner) if body.__code__.co_argcount == 2 else body()


CALLERS = [(p, r) for p, r in itertools.product(PARTNERS, policy.PARTNER_ROLES)] + [(None, "coalition_admin")]


def reaches(caller_partner, target_partner, tenancy, coalition_admin):
    """Whether the tenancy rule lets a caller of `caller_partner` at `target_partner`'s objects.
    Under POOL a coalition admin is one more partner, and no partner here joined the pool."""
    coalition_wide = coalition_admin and tenancy != policy.POOL
    if coalition_wide or caller_partner == target_partner:
        return True
    return tenancy == policy.MEMBERS_READ and HUB_OF.get(target_partner) == caller_partner


def expected_statuses(caller, target_partner, endpoint, own):
    caller_partner, role = caller
    _, _, _, _, action, _, done = endpoint
    rule = policy.rule(action)
    if role not in rule.roles:
        return {403}
    coalition_wide = role == "coalition_admin" and rule.tenancy != policy.POOL
    if rule.tenancy == policy.SELF:
        if own:
            return done
        return {403} if reaches(caller_partner, target_partner, policy.OWN, coalition_wide) else {404}
    if rule.tenancy == policy.SELF_OR_PARTNER_ADMIN:
        if own or coalition_wide or (role == "partner_admin" and caller_partner == target_partner):
            return done
        return {403} if caller_partner == target_partner else {404}
    return done if reaches(caller_partner, target_partner, rule.tenancy, coalition_wide) else {404}


@pytest.fixture(scope="module")
def coalition(api, admin_key, platform):
    coalition = Coalition(api, admin_key)
    coalition.platform = platform  # for proposals, written as a matching run writes them
    return coalition


def target_id(coalition, kind, caller, partner, made={}):
    """The object an endpoint is tried on: the target partner's, or the caller's own."""
    if kind == "partner":
        return coalition.partners[partner]
    if kind == "own staff":
        return coalition.staff[caller]
    if kind == "own fresh key":
        return coalition.new_key(*caller)
    if kind == "fresh key":
        return coalition.new_key(partner, "analyst")
    if kind in ("staff", "program", "webhook", "mentor", "mentor import", "mentee", "mentee import", "matching run", "group", "approved group"):
        # One lasting object per partner and kind; destructive endpoints get fresh ones.
        if (kind, partner) not in made:
            made[(kind, partner)] = target_id(coalition, "fresh " + kind, caller, partner)
        return made[(kind, partner)]
    if kind == "fresh staff":
        return coalition.new_staff(partner)["id"]
    if kind == "fresh program":
        return coalition.new_program(partner)
    if kind == "fresh webhook":
        return coalition.new_webhook(partner)
    if kind == "fresh mentor":
        return coalition.new_mentor(partner)
    if kind == "fresh mentor import":
        return coalition.new_mentor_import(partner)
    if kind == "fresh mentee":
        return coalition.new_mentee(partner)
    if kind == "fresh mentee import":
        return coalition.new_mentee_import(partner)
    if kind in ("fresh group", "fresh approved group"):
        return coalition.new_group(partner, approved=kind == "fresh approved group")
    if kind == "fresh matching run":
        return coalition.new_matching_run(partner)
    raise AssertionError(kind)


def test_every_endpoint_answers_as_the_policy_says_and_nothing_crosses_tenants(coalition):
    mismatches, leaks, checked = [], [], 0
    for endpoint in ENDPOINTS:
        name, method, path, kind, action, body, _ = endpoint
        own = kind.startswith("own")
        targets = [None] if own else list(PARTNERS)
        for target_partner, caller in itertools.product(targets, CALLERS):
            if own and caller[0] is None and kind == "own fresh key":
                continue  # the admin's own keys are the bootstrap key's; revoking them would end the run
            object_id = target_id(coalition, kind, caller, target_partner)
            target_partner = caller[0] if own else target_partner
            # A fresh key belongs to its partner's analyst: for that caller it is their own.
            holder = own or (kind == "fresh key" and caller == (target_partner, "analyst"))
            response = coalition.as_role(*caller).request(method, path.format(id=object_id), json=payload(body, coalition, target_partner))
            checked += 1
            expected = expected_statuses(caller, target_partner, endpoint, holder)
            if response.status_code not in expected:
                mismatches.append((name, caller, target_partner, response.status_code, sorted(expected)))
            if kind == "fresh key" and response.status_code >= 400:
                # Its holder tidies up, so nobody reaches the cap on live keys.
                coalition.as_role(target_partner, "analyst").request("DELETE", f"/api/v1/keys/{object_id}")
            rule = policy.rule(action)
            if response.status_code < 400 and not reaches(caller[0], target_partner, rule.tenancy, caller[1] == "coalition_admin"):
                leaks.append((name, caller, target_partner))
    assert leaks == []
    assert mismatches == []
    assert checked > 1500


def visible_partners(caller_partner, role, tenancy):
    if role == "coalition_admin" and tenancy != policy.POOL:
        return None  # everything
    return {p for p in PARTNERS if reaches(caller_partner, p, tenancy, role == "coalition_admin")}


@pytest.mark.parametrize("path,action,partner_of", [
    ("/api/v1/partners", "partner.list", lambda item: item["id"]),
    ("/api/v1/programs", "program.list", lambda item: item["partner_id"]),
    ("/api/v1/mentors", "mentor.list", lambda item: item["partner_id"]),
    ("/api/v1/groups", "group.list", lambda item: item["partner_id"]),
    ("/api/v1/mentees", "mentee.list", lambda item: item["partner_id"]),
])
def test_lists_show_only_what_the_tenancy_rule_reaches(coalition, path, action, partner_of):
    for partner in PARTNERS:
        coalition.new_program(partner)
        coalition.new_mentor(partner)
        coalition.new_mentee(partner)
        coalition.new_group(partner)
    label_of = {pid: label for label, pid in coalition.partners.items()}
    for caller in CALLERS:
        response = coalition.as_role(*caller).get(path, params={"limit": 200})
        if caller[1] not in policy.rule(action).roles:
            assert response.status_code == 403, (path, caller)
            continue
        assert response.status_code == 200, (path, caller)
        seen = {label_of.get(partner_of(item), "elsewhere") for item in response.json()["items"]}
        allowed = visible_partners(*caller, policy.rule(action).tenancy)
        if policy.rule(action).tenancy == policy.POOL:
            # The demo partners' consenting mentors, once the caller's partner joined the pool
            # (the matrix accepts charters). The four partners' own mentors never consented.
            seen.discard("elsewhere")
        if allowed is None:
            assert set(PARTNERS) <= seen
        else:
            # Hub staff read their members and nothing else; everyone else only their own.
            assert seen == allowed, (path, caller, seen)


def test_only_coalition_admins_suspend_and_a_suspended_partner_is_locked_out_at_once(coalition):
    target = coalition.partners["C"]
    for caller in CALLERS:
        expected = 200 if caller[1] in policy.rule("partner.suspend").roles else 403
        if expected == 403:
            assert coalition.as_role(*caller).post(f"/api/v1/partners/{target}/suspend").status_code == 403
            assert coalition.as_role(*caller).post(f"/api/v1/partners/{target}/reinstate").status_code == 403
    keys = [coalition.keys[("C", role)] for role in policy.PARTNER_ROLES]
    assert all(coalition.api(k).get("/api/v1/me").status_code == 200 for k in keys)
    assert coalition.admin.post(f"/api/v1/partners/{target}/suspend").status_code == 200
    time.sleep(1)
    assert [coalition.api(k).get("/api/v1/me").status_code for k in keys] == [401] * len(keys)
    assert coalition.admin.post(f"/api/v1/partners/{target}/reinstate").status_code == 200
    assert all(coalition.api(k).get("/api/v1/me").status_code == 200 for k in keys)


@pytest.mark.parametrize("credential", ["missing", "invalid", "expired", "revoked"])
def test_every_object_endpoint_refuses_bad_keys_with_401(coalition, credential, api):
    import datetime

    holder = coalition.as_role("A", "partner_admin")
    staff_id = coalition.staff[("A", "partner_admin")]
    if credential == "missing":
        client = api()
    elif credential == "invalid":
        client = api("cmk_00000000_" + uuid.uuid4().hex)
    elif credential == "expired":
        soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).isoformat()
        client = api(holder.post(f"/api/v1/staff/{staff_id}/keys", json={"expires_at": soon}).json()["key"])
        assert client.get("/api/v1/me").status_code == 200
        time.sleep(2.5)
    else:
        issued = holder.post(f"/api/v1/staff/{staff_id}/keys", json={}).json()
        client = api(issued["key"])
        assert client.get("/api/v1/me").status_code == 200
        assert holder.request("DELETE", f"/api/v1/keys/{issued['id']}").status_code == 200
        time.sleep(1)  # the lock-out reaches every gateway process within a second
    for name, method, path, _, _, body, _ in ENDPOINTS:
        response = client.request(method, path.format(id=coalition.partners["A"]), json=payload(body, coalition, "A"))
        assert response.status_code == 401, (name, response.status_code)
        assert response.headers["Content-Type"] == "application/problem+json"


def test_dead_letters_are_for_coalition_admins_only(coalition):
    for caller in CALLERS:
        client = coalition.as_role(*caller)
        allowed_list = caller[1] in policy.rule("dead_letter.list").roles
        allowed_replay = caller[1] in policy.rule("dead_letter.replay").roles
        assert client.get("/api/v1/dead-letters").status_code == (200 if allowed_list else 403), caller
        # No letter has this id: an admin learns that (404); nobody else gets past the role check.
        replay = client.post(f"/api/v1/dead-letters/{uuid.uuid4().hex}/replay")
        assert replay.status_code == (404 if allowed_replay else 403), caller
