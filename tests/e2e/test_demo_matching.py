"""The demo coalition from `make up` can be matched at once: Harbour's coordinator runs a match on
its autumn cohort and gets groups with pooled mentors of other partners, and a reason for each
person the run could not place."""
import time

import pytest

from gateway import demo as demo_coalition

pytestmark = pytest.mark.e2e


def test_a_newcomer_runs_a_match_on_the_demo_programme(api, demo):
    tomas = api(next(c["key"] for c in demo if c["email"] == "tomas.novak@harbour.example"))
    program = next(p for p in tomas.get("/api/v1/programs").json()["items"] if p["name"] == demo_coalition.PROGRAM["name"])
    waiting = tomas.get("/api/v1/mentees", params={"program_id": program["id"], "status": "waiting", "limit": 100}).json()["items"]
    assert len(waiting) == len(demo_coalition.MENTEES)
    by_email = {mentee["email"]: mentee["id"] for mentee in waiting}

    started = tomas.post(f"/api/v1/programs/{program['id']}/matching-runs")
    assert started.status_code == 202, started.text
    for _ in range(240):
        run = tomas.get(f"/api/v1/matching-runs/{started.json()['id']}").json()
        if run["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    assert run["status"] == "completed", run

    groups = tomas.get("/api/v1/groups", params={"run_id": run["id"], "limit": 100}).json()["items"]
    # One group for each of the four pooled, ready mentors; three of them recruited by other partners.
    assert len(groups) == 4
    harbour = program["partner_id"]
    assert sum(group["mentor_partner_id"] != harbour for group in groups) == 3
    assert all(3 <= len(group["mentee_ids"]) <= 5 and group["members"] for group in groups)
    unplaced = {item["mentee_id"]: item["reason"] for item in run["result"]["unplaced"]}
    assert unplaced == {by_email["tesfaye.bekele@mail.example"]: "no_mentor_for_sector_rule",
                        by_email["marta.gomez@mail.example"]: "no_mentor_with_common_slot"}
