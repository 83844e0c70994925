"""Mentee intake through the gateway: consent required, the owning partner only (another
partner, a hub analyst or the coalition admin sees no person), filters, admission, withdrawal,
enrolment in the partner's own programme only, erasure, and the all-or-nothing CSV import."""
import json
import uuid

import pytest

from harness import wait_for
from matching import mentee_imports
from profiles import mentee_csv, mentee_profile, mentee_row

pytestmark = pytest.mark.e2e


def new_partner(admin, api, label, roles=("partner_admin", "coordinator")):
    partner = admin.post("/api/v1/partners", json={"name": f"Intake {label} {uuid.uuid4().hex[:6]}", "kind": "ngo", "region": "CA-ON"}).json()
    staff = admin.post(f"/api/v1/partners/{partner['id']}/staff", json={
        "name": f"{label} staff", "email": f"{uuid.uuid4().hex[:8]}@{label}.example", "roles": list(roles)}).json()
    return {"id": partner["id"], "client": api(admin.enrol(staff))}


@pytest.fixture(scope="module")
def sides(api, admin_key):
    admin = api(admin_key)
    return {"own": new_partner(admin, api, "own"), "other": new_partner(admin, api, "other"),
            "analyst": new_partner(admin, api, "analyst", roles=("analyst",)), "admin": {"client": admin}}


def take_in(client, **overrides):
    answer = client.post("/api/v1/mentees", json=mentee_profile(**overrides))
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_intake_without_consent_is_refused(sides):
    profile = mentee_profile()
    del profile["consent"]
    answer = sides["own"]["client"].post("/api/v1/mentees", json=profile)
    assert answer.status_code == 422 and "consent" in answer.json()["errors"]
    answer = sides["own"]["client"].post("/api/v1/mentees", json=mentee_profile(status="matched"))
    assert answer.status_code == 422 and "status" in answer.json()["errors"]


def test_a_mentee_is_seen_and_changed_by_its_own_partner_only(sides):
    own = sides["own"]["client"]
    mentee = take_in(own, given_name="Marisol", city="Sudbury")
    read = own.get(f"/api/v1/mentees/{mentee['id']}")
    assert read.status_code == 200 and read.json()["given_name"] == "Marisol" and read.headers["ETag"] == '"1"'
    other = sides["other"]["client"]
    for method, path, body in (("GET", "", None), ("PATCH", "", {"city": "Ottawa"}), ("DELETE", "", None),
                               ("POST", "/admission", {}), ("POST", "/withdrawal", {"reason": "other"})):
        assert other.request(method, f"/api/v1/mentees/{mentee['id']}{path}", json=body).status_code == 404, (method, path)
    assert mentee["id"] not in {m["id"] for m in other.get("/api/v1/mentees", params={"limit": 200}).json()["items"]}
    for side in ("analyst", "admin"):
        assert sides[side]["client"].get(f"/api/v1/mentees/{mentee['id']}").status_code == 403
        assert sides[side]["client"].get("/api/v1/mentees").status_code == 403
    stale = own.request("PATCH", f"/api/v1/mentees/{mentee['id']}", json={"city": "Ottawa"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 200 and stale.headers["ETag"] == '"2"'
    assert own.request("PATCH", f"/api/v1/mentees/{mentee['id']}", json={"city": "Kingston"}, headers={"If-Match": '"1"'}).status_code == 412


def test_list_filters(sides):
    own = sides["own"]["client"]
    region = "CA-NB"
    made = [take_in(own, region=region, target_occupation="2221") for _ in range(2)]
    take_in(own, region=region, target_occupation="2611")
    listed = own.get("/api/v1/mentees", params={"region": region, "target_occupation": "222", "status": "waiting"}).json()
    assert [m["id"] for m in listed["items"]] == [m["id"] for m in made]
    assert own.get("/api/v1/mentees", params={"status": "asleep"}).status_code == 422


def test_enrol_admit_withdraw_and_erase(sides, platform):
    own, other = sides["own"]["client"], sides["other"]["client"]
    program = own.post("/api/v1/programs", json={"name": f"Cohort {uuid.uuid4().hex[:6]}", "start_date": "2027-01-15"}).json()
    foreign = other.post("/api/v1/programs", json={"name": f"Cohort {uuid.uuid4().hex[:6]}", "start_date": "2027-01-15"}).json()
    tag = uuid.uuid4().hex[:8]
    mentee = take_in(own, given_name=f"Ngozi{tag}".replace("0", "o"), family_name="Okafor", email=f"ngozi.{tag}@mentee.example")
    assert own.post(f"/api/v1/programs/{foreign['id']}/mentees", json={"mentee_id": mentee["id"]}).status_code == 404
    stranger = take_in(other)
    assert own.post(f"/api/v1/programs/{program['id']}/mentees", json={"mentee_id": stranger["id"]}).status_code == 404
    enrolled = own.post(f"/api/v1/programs/{program['id']}/mentees", json={"mentee_id": mentee["id"]})
    assert enrolled.status_code == 200 and enrolled.json()["program_id"] == program["id"]
    assert [m["id"] for m in own.get("/api/v1/mentees", params={"program_id": program["id"]}).json()["items"]] == [mentee["id"]]
    admitted = own.post(f"/api/v1/mentees/{mentee['id']}/admission", json={})
    assert admitted.status_code == 200 and admitted.json()["admitted_at"]
    assert own.post(f"/api/v1/mentees/{mentee['id']}/admission", json={}).status_code == 409
    withdrawn = own.post(f"/api/v1/mentees/{mentee['id']}/withdrawal", json={"reason": "found_work"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    erased = own.request("DELETE", f"/api/v1/mentees/{mentee['id']}")
    assert erased.status_code == 200 and erased.json() == {"id": mentee["id"], "erased": True}
    assert own.get(f"/api/v1/mentees/{mentee['id']}").status_code == 404
    facts = platform.database("reporting").facts
    wait_for(lambda: facts.count_documents({"type": "mentee.erased", "program_id": program["id"]}) == 1, message="the erasure's fact")
    stored = json.dumps(list(facts.find({"program_id": program["id"]})), default=str)
    assert "mentee_id" not in stored and tag not in stored
    assert {f["type"] for f in facts.find({"program_id": program["id"]})} == {"mentee.enrolled", "mentee.admitted", "mentee.withdrawn", "mentee.erased"}


def test_import_all_or_nothing(sides):
    own = sides["own"]["client"]
    rows = [mentee_row(), mentee_row(), mentee_row(languages="xx:C1")]
    refused = own.post("/api/v1/mentees/imports", data=mentee_csv(rows).encode(), headers={"Content-Type": "text/csv"})
    assert refused.status_code == 422 and set(refused.json()["errors"]) == {"row 3"}
    emails = {m["email"] for m in own.get("/api/v1/mentees", params={"limit": 200}).json()["items"]}
    assert not emails & {row["email"] for row in rows}
    text = mentee_csv(rows[:2])
    done = own.post("/api/v1/mentees/imports", data=text.encode(), headers={"Content-Type": "text/csv"})
    assert done.status_code == 201 and done.json()["rows_created"] == 2, done.text
    again = own.post("/api/v1/mentees/imports", data=text.encode(), headers={"Content-Type": "text/csv"})
    assert again.json() == done.json()
    assert own.get(done.headers["Location"]).json() == done.json()
    assert sides["other"]["client"].get(done.headers["Location"]).status_code == 404
    clash = own.post("/api/v1/mentees/imports", data=mentee_csv([mentee_row(email=rows[0]["email"])]).encode(),
                     headers={"Content-Type": "text/csv"})
    assert clash.status_code == 422 and "email" in clash.json()["errors"]["row 1"]
    many_rows = "given_name\r\n" + "x\r\n" * (mentee_imports.MAX_ROWS + 1)
    answer = own.post("/api/v1/mentees/imports", data=many_rows.encode(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 413 and "file" in answer.json()["errors"]
    template = own.get("/api/v1/mentees/imports/template")
    assert template.status_code == 200 and "consent_version" in template.text
    # Last: the gateway answers before reading the whole body, and then closes the connection.
    too_big = "a" * (mentee_imports.MAX_BYTES + 1)
    answer = own.post("/api/v1/mentees/imports", data=too_big.encode(), headers={"Content-Type": "text/csv"})
    assert answer.status_code == 413 and "file" in answer.json()["errors"]
