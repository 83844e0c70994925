"""Matching runs through the real services (registry, mentor bank, matching, reporting) on the real
broker and database, with the real engine in its own process: a run on a small programme
completes with proposals and explanations, a second run while one is under way answers 409,
another partner's run is 404, and a run whose matching service is killed mid-run is taken over and
completes once."""
import datetime
import uuid

import pytest

from coalition_common.errors import Conflict, NotFound
from coalition_common.identity import operator
from coalition_common.ids import new_id
from harness import wait_for

from profiles import CONSENT, mentor_profile

pytestmark = pytest.mark.service

ADMIN = operator("runs-test")
LEASE_SECONDS = 4  # a killed worker's run is taken over this long after its last renewal
MARKER = "Zyxmarker"


@pytest.fixture(scope="module")
def platform(platform_factory):
    return platform_factory("runs", ("registry", "mentor_bank", "matching", "reporting"),
                            env={"MATCHING_RUN_LEASE_SECONDS": str(LEASE_SECONDS)})


def role(partner_id, *roles):
    return operator("runs-test", roles, partner_id)


def new_partner(platform, pooled=True):
    partner = platform.rpc("registry", "register_partner", {"name": f"Runs {uuid.uuid4().hex[:8]}", "kind": "ngo",
                                                            "region": "CA-ON"}, identity=ADMIN)
    if pooled:
        platform.rpc("registry", "accept_charter", partner["id"], {"version": "2026-1"}, identity=role(partner["id"], "partner_admin"))
    return partner["id"]


def new_program(platform, partner_id, **fields):
    return platform.rpc("registry", "create_program", {"name": f"Cohort {uuid.uuid4().hex[:6]}", "start_date": "2027-01-15",
                                                       "group_size_min": 3, "group_size_max": 4, **fields},
                        identity=role(partner_id, "partner_admin"))


def ready_mentor(platform, partner_id, pooled=False, **fields):
    recruiter = role(partner_id, "recruiter")
    profile = mentor_profile(given_name=MARKER, occupations=["2142"], languages=[{"code": "en", "level": "C2"}],
                             modes=["virtual"], availability=["tue_evening"], capacity=1, **fields)
    mentor_id = platform.rpc("mentor_bank", "register_mentor", profile, identity=recruiter)["id"]
    for method, payload in (
            ("record_screening", {"background_check": "clear", "checked_at": "2026-09-01T09:00:00+00:00",
                                  "expires_at": "2030-09-01T09:00:00+00:00"}),
            ("change_status", {"status": "screened"}), ("record_orientation", {"completed_at": "2026-09-01T09:00:00+00:00"}),
            ("change_status", {"status": "trained"}), ("change_status", {"status": "active"})):
        platform.rpc("mentor_bank", method, mentor_id, payload, identity=recruiter)
    if pooled:
        platform.rpc("mentor_bank", "change_sharing", mentor_id, CONSENT, identity=recruiter)
    return mentor_id


def waiting_mentees(platform, partner_id, program_id, count):
    """Waiting mentees of the programme, stored as intake leaves them (intake has tests of its own)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ids = []
    for n in range(count):
        mentee_id = new_id()
        platform.database("matching").mentees.insert_one({
            "_id": mentee_id, "partner_id": partner_id, "program_id": program_id, "status": "waiting", "group_id": None,
            "given_name": MARKER, "family_name": "Mentee", "email": f"{MARKER.lower()}{n}@mentee.example",
            "email_key": f"{partner_id}:{mentee_id}", "phone": None, "city": "Markerville", "country_trained": "IN",
            "occupation": "2142", "target_occupation": "2142", "years_experience": 4 + n % 5, "credential_recognition": "in_progress",
            "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON", "modes": ["virtual"], "availability": ["tue_evening"],
            "goals": ["networking"], "preferences": {}, "needs_communication_support": False,
            "applied_at": now - datetime.timedelta(days=n), "admitted_at": None, "version": 1, "created_at": now, "outbox": []})
        ids.append(mentee_id)
    return ids


def finished(platform, run_id, partner_id, timeout=120):
    def done():
        run = platform.rpc("matching", "read_run", run_id, identity=role(partner_id, "coordinator"))
        return run if run["status"] in ("completed", "failed") else None
    return wait_for(done, timeout=timeout, interval=0.5, message=f"run {run_id} to end")


def test_a_run_completes_with_explained_proposals_and_only_its_partner_sees_it(platform):
    own, other, outsider = new_partner(platform), new_partner(platform), new_partner(platform)
    program = new_program(platform, own)
    own_mentor = ready_mentor(platform, own)
    pooled_mentor = ready_mentor(platform, other, pooled=True)
    private_mentor = ready_mentor(platform, other)  # never consented: not the programme's to use
    ids = waiting_mentees(platform, own, program["id"], 8)

    coordinator = role(own, "coordinator")
    run = platform.rpc("matching", "start_run", program["id"], identity=coordinator)
    assert run["status"] in ("queued", "running")
    with pytest.raises(Conflict):  # one run of a programme at a time
        platform.rpc("matching", "start_run", program["id"], identity=role(own, "partner_admin"))
    with pytest.raises(NotFound):  # another partner neither starts nor reads it
        platform.rpc("matching", "start_run", program["id"], identity=role(outsider, "coordinator"))
    with pytest.raises(NotFound):
        platform.rpc("matching", "read_run", run["id"], identity=role(outsider, "coordinator"))

    done = finished(platform, run["id"], own)
    assert done["status"] == "completed", done["problem"]
    result = done["result"]
    assert {g["mentor_id"] for g in result["groups"]} <= {own_mentor, pooled_mentor}
    assert private_mentor not in repr(result)
    placed = [m for g in result["groups"] for m in g["mentee_ids"]]
    assert len(placed) == len(set(placed)) and set(placed) | {u["mentee_id"] for u in result["unplaced"]} == set(ids)
    assert result["groups"] and all(3 <= len(g["mentee_ids"]) <= 4 for g in result["groups"])
    for group in result["groups"]:
        assert group["id"].startswith(run["id"] + "-")
        assert {m["mentee_id"] for m in group["members"]} == set(group["mentee_ids"])
        assert all(m["criteria"] and m["breakdown"] for m in group["members"])
    summary = result["summary"]
    assert summary["objective"] <= summary["bound"] + 1e-6 and summary["placed"] == len(placed)
    assert summary["mentees"] == 8 and summary["mentors"] == 2

    matching_db = platform.database("matching")
    for group in result["groups"]:
        stored = matching_db.groups.find_one({"_id": group["id"]})
        assert stored["status"] == "proposed" and stored["partner_id"] == own and stored["mentee_ids"] == group["mentee_ids"]
        for mentee_id in group["mentee_ids"]:
            assert matching_db.mentees.find_one({"_id": mentee_id})["group_id"] == group["id"]

    # Facts for the run and each proposal, with nothing personal.
    reporting = platform.database("reporting").facts
    wait_for(lambda: reporting.count_documents({"type": "group.proposed", "partner_id": own}) == len(result["groups"]),
             message="group.proposed facts")
    wait_for(lambda: reporting.count_documents({"type": "matching.completed", "partner_id": own}) == 1,
             message="the matching.completed fact")
    assert MARKER.lower() not in repr(list(reporting.find({"partner_id": own}))).lower()
    assert MARKER.lower() not in repr(done).lower()

    # Ended: the programme may be matched again.
    again = platform.rpc("matching", "start_run", program["id"], identity=coordinator)
    assert finished(platform, again["id"], own)["status"] == "completed"


def test_a_run_whose_service_was_killed_mid_run_is_taken_over_and_completes_once(platform):
    partner = new_partner(platform)
    program = new_program(platform, partner, group_size_min=2, group_size_max=2)
    for _ in range(24):
        ready_mentor(platform, partner)
    ids = waiting_mentees(platform, partner, program["id"], 48)
    run = platform.rpc("matching", "start_run", program["id"], identity=role(partner, "coordinator"))
    groups = platform.database("matching").groups

    # Killed while it writes its proposals: some written, not all.
    wait_for(lambda: groups.count_documents({"run_id": run["id"]}) >= 1, timeout=120, interval=0.05,
             message="the first proposal")
    platform.stack.kill("matching")
    at_kill = groups.count_documents({"run_id": run["id"]})
    stored = platform.database("matching").matching_runs.find_one({"_id": run["id"]})
    assert stored["status"] == "running", "the kill must land mid-run for this test to mean anything"
    platform.start("matching")

    done = finished(platform, run["id"], partner)
    assert done["status"] == "completed", done["problem"]
    written = list(groups.find({"run_id": run["id"]}))
    assert len(written) == len(done["result"]["groups"]) >= at_kill
    assert sorted(g["_id"] for g in written) == sorted({g["_id"] for g in written})
    members = [m for g in written for m in g["mentee_ids"]]
    assert len(members) == len(set(members)) and set(members) <= set(ids)
    assert platform.database("matching").matching_run_claims.count_documents({"run_id": run["id"]}) == 0
    facts = platform.database("reporting").facts
    wait_for(lambda: facts.count_documents({"type": "matching.completed", "partner_id": partner}) == 1, message="one completed fact")
    wait_for(lambda: len(facts.distinct("_id", {"type": "group.proposed", "partner_id": partner})) >= len(written),
             message="a fact per proposal")
