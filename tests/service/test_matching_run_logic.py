"""Matching runs' logic against the real database, without a broker: the registry and the mentor
bank are stand-ins answering as they would, and the engine is a function (the process that runs
the real one is tested in tests/unit/test_matching_engine_process.py and through the services in
test_matching_runs.py).

One run per programme (a second start answers 409, however many race), only the programme's
partner starts or reads its runs, a run resumed after its worker died writes every proposal
once, and a mentee withdrawn meanwhile is left out of their proposal."""
import datetime
import threading
import uuid

import pytest

from coalition_common import leases
from coalition_common.errors import Conflict, NotFound
from coalition_common.identity import operator
from coalition_common.ids import new_id, utcnow
from matching import mentees, runs

pytestmark = pytest.mark.service

PERSONAL = ("given_name", "family_name", "email", "phone", "city")


@pytest.fixture
def database(scratch_database):
    database = scratch_database("matching")
    mentees.prepare(database)
    return database


def coordinator(partner_id):
    return operator("runs-test", ("coordinator",), partner_id)


class Coalition:
    """The registry's programmes and the mentor bank's candidates, as `call` answers them."""

    def __init__(self):
        self.programs, self.mentors, self.calls = {}, [], []

    def program(self, partner_id, group_size_min=3, group_size_max=4, status="matching"):
        program = {"id": new_id(), "partner_id": partner_id, "group_size_min": group_size_min,
                   "group_size_max": group_size_max, "status": status, "name": "Cohort"}
        self.programs[program["id"]] = program
        return program

    def mentor(self, partner_id):
        mentor = {"id": new_id(), "partner_id": partner_id, "occupations": ["2142"], "languages": [{"code": "en", "level": "C2"}],
                  "region": "CA-ON", "modes": ["virtual"], "availability": ["tue_evening"], "years_experience": 10, "places": 1,
                  "supports_communication_needs": False, "eligible": True, "visible": True}
        self.mentors.append(mentor)
        return mentor

    def __call__(self, service, method, *args, identity, timeout=None):
        self.calls.append((service, method, identity.get("partner_id")))
        if (service, method) == ("registry", "get_program"):
            program = self.programs.get(args[0])
            if program is None:
                raise NotFound("No such programme.")
            return dict(program)
        if (service, method) == ("mentor_bank", "matching_candidates"):
            cursor, limit = args
            start = int(cursor or 0)
            page = self.mentors[start:start + 2]  # small pages, so the run follows cursors
            return {"items": [dict(m) for m in page], "next_cursor": str(start + 2) if start + 2 < len(self.mentors) else None}
        if (service, method) == ("mentor_bank", "matching_preferences"):
            return {}
        raise AssertionError((service, method))


class Recorded:
    def __init__(self):
        self.events = []

    def __call__(self, event_type, payload):
        self.events.append((event_type, payload))

    def of(self, event_type):
        return [payload for kind, payload in self.events if kind == event_type]


def in_order_engine(calls=None):
    """Groups mentees in id order, `group_size_max` a group, one mentor each."""
    def engine(instance, on_progress, time_limit_seconds):
        if calls is not None:
            calls.append(instance)
        on_progress("search", 50)
        settings = instance["settings"]
        left = [m["id"] for m in instance["mentees"]]
        groups = []
        for mentor in instance["mentors"]:
            batch = left[:settings["group_size_max"]]
            if len(batch) < settings["group_size_min"]:
                break
            left = left[len(batch):]
            groups.append({"mentor_id": mentor["id"], "mentee_ids": batch, "common": {"language": "en", "slot": "tue_evening"},
                           "rule_set": "default", "score": 3.0,
                           "members": [{"mentee_id": m, "score": 1.0, "breakdown": {"occupation": 1.0}, "criteria": ["same ISCO unit group 2142"]}
                                       for m in batch]})
        return {"groups": groups, "unplaced": [{"mentee_id": m, "reason": "compatible_mentors_full", "detail": "All full."} for m in left],
                "summary": {"objective": 9.0, "bound": 10.0, "gap": 0.1, "placed_share": 0.5, "hard_to_match_share_placed": 0.0,
                            "groups_per_mentor": {"1": len(groups)}, "wall_seconds": 0.01, "method": "test", "seed": 0}}
    return engine


def waiting(database, partner_id, program_id, count):
    now = utcnow()
    ids = []
    for n in range(count):
        mentee_id = new_id()
        database.mentees.insert_one({
            "_id": mentee_id, "partner_id": partner_id, "program_id": program_id, "status": "waiting", "group_id": None,
            "given_name": "Markergiven", "family_name": "Markerfamily", "email": f"marker{n}@mentee.example",
            "email_key": f"{partner_id}:{mentee_id}", "phone": "+14165550111", "city": "Markertown",
            "occupation": "2142", "target_occupation": "2142", "years_experience": 5, "languages": [{"code": "en", "level": "C1"}],
            "region": "CA-ON", "modes": ["virtual"], "availability": ["tue_evening"], "goals": ["networking"],
            "preferences": {}, "needs_communication_support": False, "applied_at": now - datetime.timedelta(days=n),
            "version": 1, "created_at": now, "outbox": []})
        ids.append(mentee_id)
    return sorted(ids)


def finish(database, coalition, dispatch, engine, rounds=3):
    for _ in range(rounds):
        runs.run_pending(database, coalition, dispatch, engine)


def test_a_run_proposes_groups_with_explanations_and_announces_them_without_personal_data(database):
    coalition, dispatch = Coalition(), Recorded()
    partner, other = new_id(), new_id()
    program = coalition.program(partner)
    own_mentor, pooled_mentor = coalition.mentor(partner), coalition.mentor(other)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 9)

    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    assert started["status"] == "queued" and started["result"] is None
    finish(database, coalition, dispatch, in_order_engine())

    run = runs.read_run(database, coordinator(partner), started["id"])
    assert run["status"] == "completed" and run["percent"] == 100.0
    result = run["result"]
    assert [g["id"] for g in result["groups"]] == [f"{started['id']}-0001", f"{started['id']}-0002"]
    assert [g["mentor_id"] for g in result["groups"]] == [own_mentor["id"], pooled_mentor["id"]]
    assert result["groups"][1]["mentor_partner_id"] == other
    assert all(member["criteria"] and member["breakdown"] for g in result["groups"] for member in g["members"])
    assert [u["mentee_id"] for u in result["unplaced"]] == ids[8:] and result["unplaced"][0]["reason"] == "compatible_mentors_full"
    assert result["summary"]["objective"] == 9.0 and result["summary"]["bound"] == 10.0
    assert (result["summary"]["groups"], result["summary"]["placed"], result["summary"]["mentees"], result["summary"]["mentors"]) == (2, 8, 9, 3)

    stored = {g["_id"]: g for g in database.groups.find({"run_id": started["id"]})}
    assert set(stored) == {g["id"] for g in result["groups"]}
    group = stored[f"{started['id']}-0001"]
    assert (group["status"], group["partner_id"], group["program_id"], group["version"], group["approvals"]) == (
        "proposed", partner, program["id"], 1, [])
    assert group["mentee_ids"] == ids[:4] and group["mentor_partner_id"] == partner
    for mentee_id in ids[:8]:
        mentee = database.mentees.find_one({"_id": mentee_id})
        assert mentee["status"] == "proposed" and mentee["group_id"] in stored
    assert database.mentees.find_one({"_id": ids[8]})["status"] == "waiting"

    # Every call went as a coordinator of the programme's own partner.
    assert {partner_id for _, _, partner_id in coalition.calls} == {partner}
    proposed, completed = dispatch.of("group.proposed"), dispatch.of("matching.completed")
    assert len(proposed) == 2 and len(completed) == 1
    assert proposed[1]["pooled"] is True and proposed[1]["mentor_partner_id"] == other and proposed[1]["mentee_ids"] == ids[4:8]
    assert completed[0]["run_id"] == started["id"] and completed[0]["groups"] == 2 and completed[0]["placed"] == 8
    text = repr(dispatch.events) + repr(run)
    assert not any(marker in text for marker in ("Marker", "marker", "+1416")), "no personal data in events or results"
    assert database.groups.count_documents({"outbox.0": {"$exists": True}}) == 0


def test_a_second_run_of_a_programme_waits_until_the_first_has_ended(database):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner)
    coalition.mentor(partner)
    waiting(database, partner, program["id"], 3)
    first = runs.start_run(database, coalition, coordinator(partner), program["id"])
    with pytest.raises(Conflict) as refused:
        runs.start_run(database, coalition, coordinator(partner), program["id"])
    assert first["id"] in refused.value.errors["program_id"][0]
    # Another programme is not held up.
    runs.start_run(database, coalition, coordinator(partner), coalition.program(partner)["id"])
    finish(database, coalition, dispatch, in_order_engine())
    assert runs.read_run(database, coordinator(partner), first["id"])["status"] == "completed"
    again = runs.start_run(database, coalition, coordinator(partner), program["id"])
    assert again["status"] == "queued"


def test_of_many_starts_at_once_exactly_one_is_queued(database):
    coalition = Coalition()
    partner = new_id()
    program = coalition.program(partner)
    barrier = threading.Barrier(12)
    outcomes = []

    def start():
        barrier.wait()
        try:
            outcomes.append(runs.start_run(database, coalition, coordinator(partner), program["id"])["id"])
        except Conflict:
            outcomes.append(409)

    threads = [threading.Thread(target=start) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(409) == 11
    assert database.matching_runs.count_documents({"program_id": program["id"]}) == 1


def test_a_lock_whose_run_was_never_written_holds_only_for_a_grace_period(database):
    coalition = Coalition()
    partner = new_id()
    program = coalition.program(partner)
    now = utcnow()
    database.matching_run_locks.insert_one({"_id": f"{program['id']}:0", "program_id": program["id"], "k": 0,
                                            "run_id": new_id(), "taken_at": now})
    with pytest.raises(Conflict):
        runs.start_run(database, coalition, coordinator(partner), program["id"])
    database.matching_run_locks.update_one({"_id": f"{program['id']}:0"},
                                           {"$set": {"taken_at": now - runs.LOCK_GRACE - datetime.timedelta(seconds=1)}})
    assert runs.start_run(database, coalition, coordinator(partner), program["id"])["status"] == "queued"


def test_only_the_programmes_own_partner_starts_and_reads_its_runs(database):
    coalition = Coalition()
    partner, other = new_id(), new_id()
    program = coalition.program(partner)
    with pytest.raises(NotFound):  # readable to a hub, say, but not theirs to match
        runs.start_run(database, coalition, coordinator(other), program["id"])
    with pytest.raises(NotFound):
        runs.start_run(database, coalition, coordinator(partner), new_id())
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    with pytest.raises(NotFound):
        runs.read_run(database, coordinator(other), started["id"])
    with pytest.raises(NotFound):
        runs.read_run(database, operator("runs-test", ("coordinator",), None), started["id"])
    assert database.matching_runs.count_documents({"program_id": program["id"]}) == 1


def test_a_closed_programme_is_not_matched(database):
    coalition = Coalition()
    partner = new_id()
    program = coalition.program(partner, status="closed")
    with pytest.raises(Conflict):
        runs.start_run(database, coalition, coordinator(partner), program["id"])


def test_a_run_whose_worker_died_while_writing_is_taken_over_and_writes_each_proposal_once(database, monkeypatch):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=2, group_size_max=2)
    for _ in range(4):
        coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 8)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    solved = []
    write_group = runs.write_group
    written = []

    def dies_on_the_third_group(*args):
        written.append(args[3]["id"])
        if len(written) == 3:
            raise ConnectionError("the instance died")
        return write_group(*args)

    monkeypatch.setattr(runs, "write_group", dies_on_the_third_group)
    runs.run_pending(database, coalition, dispatch, in_order_engine(solved))
    monkeypatch.setattr(runs, "write_group", write_group)
    assert database.groups.count_documents({"run_id": started["id"]}) == 2
    assert runs.read_run(database, coordinator(partner), started["id"])["status"] == "running"

    runs.run_pending(database, coalition, dispatch, in_order_engine(solved))  # the claim is alive: nobody takes over
    assert database.groups.count_documents({"run_id": started["id"]}) == 2
    stale = utcnow() - runs.LEASE - datetime.timedelta(seconds=1)
    database.matching_run_claims.update_many({"run_id": started["id"]}, {"$set": {"renewed_at": stale}})
    runs.run_pending(database, coalition, dispatch, in_order_engine(solved))

    run = runs.read_run(database, coordinator(partner), started["id"])
    assert run["status"] == "completed" and len(run["result"]["groups"]) == 4
    assert len(solved) == 1  # the engine's answer was kept: the takeover wrote it, it did not ask again
    groups = list(database.groups.find({"run_id": started["id"]}))
    assert sorted(g["_id"] for g in groups) == [f"{started['id']}-{n:04d}" for n in range(1, 5)]
    assert sorted(m for g in groups for m in g["mentee_ids"]) == ids
    assert sorted(p["group_id"] for p in dispatch.of("group.proposed")) == sorted(g["_id"] for g in groups)
    assert len(dispatch.of("matching.completed")) == 1
    assert database.matching_run_claims.count_documents({"run_id": started["id"]}) == 0


def test_a_run_given_up_after_its_attempts_fails_and_frees_the_programme(database):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    stale = utcnow() - runs.LEASE - datetime.timedelta(seconds=1)
    for attempt in range(runs.MAX_ATTEMPTS):
        database.matching_run_claims.insert_one({"_id": f"{started['id']}:{attempt}", "run_id": started["id"],
                                                 "attempt": attempt, "renewed_at": stale})
    runs.run_pending(database, coalition, dispatch, in_order_engine())
    failed = runs.read_run(database, coordinator(partner), started["id"])
    assert failed["status"] == "failed" and failed["problem"]["detail"] == runs.GAVE_UP
    assert runs.start_run(database, coalition, coordinator(partner), program["id"])["status"] == "queued"


def test_an_engine_that_fails_fails_the_run(database):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner)

    def broken(instance, on_progress, time_limit_seconds):
        raise runs.EngineFailed("The engine stopped (exit status 1): ValueError.")

    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    runs.run_pending(database, coalition, dispatch, broken)
    failed = runs.read_run(database, coordinator(partner), started["id"])
    assert failed["status"] == "failed" and "exit status 1" in failed["problem"]["detail"]
    assert dispatch.events == []


def test_a_mentee_withdrawn_meanwhile_is_left_out_and_a_group_left_too_small_is_not_proposed(database):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=3, group_size_max=4)
    coalition.mentor(partner)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 7)  # groups: 4 and 3
    solve = in_order_engine()

    def withdrawals_while_solving(instance, on_progress, time_limit_seconds):
        result = solve(instance, on_progress, time_limit_seconds)
        for mentee_id in (ids[0], ids[5]):  # one from each group
            mentees.move_status(database, mentee_id, ("waiting",), "withdrawn")
        return result

    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    finish(database, coalition, dispatch, withdrawals_while_solving)
    run = runs.read_run(database, coordinator(partner), started["id"])
    assert run["status"] == "completed"
    [group] = run["result"]["groups"]
    assert group["mentee_ids"] == ids[1:4] and [m["mentee_id"] for m in group["members"]] == ids[1:4]
    reasons = {u["mentee_id"]: u["reason"] for u in run["result"]["unplaced"]}
    assert reasons == {ids[0]: runs.WITHDRAWN, ids[5]: runs.WITHDRAWN, ids[4]: runs.GROUP_TOO_SMALL, ids[6]: runs.GROUP_TOO_SMALL}
    assert database.groups.find_one({"_id": f"{started['id']}-0001"})["mentee_ids"] == ids[1:4]
    assert database.groups.find_one({"_id": f"{started['id']}-0002"}) is None
    assert [database.mentees.find_one({"_id": m})["status"] for m in (ids[4], ids[6])] == ["waiting", "waiting"]
    assert run["result"]["summary"]["groups"] == 1 and run["result"]["summary"]["placed"] == 3
    assert [p["group_id"] for p in dispatch.of("group.proposed")] == [f"{started['id']}-0001"]


def test_the_lease_is_one_worker_at_a_time(database):
    run_id = uuid.uuid4().hex
    first = leases.Lease.take(database.matching_run_claims, run_id, lasts=runs.LEASE, key="run_id")
    assert leases.Lease.take(database.matching_run_claims, run_id, lasts=runs.LEASE, key="run_id") is None
    first.renew()


def test_settings_are_the_programmes_partners_own_and_checked_against_the_rule_sets_bounds(database):
    from coalition_common.errors import PreconditionFailed, ValidationFailed
    from matching import settings

    coalition = Coalition()
    partner, other = new_id(), new_id()
    program = coalition.program(partner, group_size_min=3, group_size_max=5)
    defaults = settings.read_settings(database, coalition, coordinator(partner), program["id"])
    assert (defaults["rule_set"], defaults["min_language_level"], defaults["version"], defaults["group_size_max"]) == ("auto", "B1", 0, 5)
    with pytest.raises(NotFound):
        settings.read_settings(database, coalition, coordinator(other), program["id"])
    with pytest.raises(NotFound):
        settings.replace_settings(database, coalition, coordinator(other), program["id"], {"min_language_level": "C1"})
    with pytest.raises(ValidationFailed) as refused:
        settings.replace_settings(database, coalition, coordinator(partner), program["id"], {"weights": {"goals": 1000}})
    assert "weights" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        settings.replace_settings(database, coalition, coordinator(partner), program["id"], {"rule_set": "astrology"})
    assert "rule_set" in refused.value.errors
    with pytest.raises(ValidationFailed) as refused:
        settings.replace_settings(database, coalition, coordinator(partner), program["id"], {"version": 7})
    assert "version" in refused.value.errors

    saved = settings.replace_settings(database, coalition, coordinator(partner), program["id"],
                                      {"rule_set": "health", "weights": {"goals": 2.0}, "min_language_level": "B2"}, 0)
    assert (saved["rule_set"], saved["weights"], saved["version"]) == ("health", {"goals": 2.0}, 1)
    with pytest.raises(PreconditionFailed):
        settings.replace_settings(database, coalition, coordinator(partner), program["id"], {}, 0)
    assert database.program_settings.find_one({"_id": program["id"]})["partner_id"] == partner
    chosen = settings.effective(database, coalition.programs[program["id"]])
    assert chosen == {"rule_set": "health", "weights": {"goals": 2.0}, "min_language_level": "B2", "time_limit_seconds": 20,
                      "group_size_min": 3, "group_size_max": 5}
    back = settings.replace_settings(database, coalition, coordinator(partner), program["id"], {}, 1)
    assert (back["rule_set"], back["weights"], back["version"]) == ("auto", {}, 2)


def test_a_run_sends_the_programmes_settings_to_the_engine(database):
    from matching import settings

    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=2, group_size_max=3)
    coalition.mentor(partner)
    waiting(database, partner, program["id"], 3)
    settings.replace_settings(database, coalition, coordinator(partner), program["id"], {"min_language_level": "C1", "time_limit_seconds": 7})
    solved = []
    runs.start_run(database, coalition, coordinator(partner), program["id"])
    finish(database, coalition, dispatch, in_order_engine(solved))
    [instance] = solved
    assert instance["settings"] == {"group_size_min": 2, "group_size_max": 3, "min_language_level": "C1", "rule_set": "auto",
                                    "weights": {}, "time_limit_seconds": 7, "seed": 0}
    assert all(not set(m) & set(PERSONAL) for m in instance["mentees"])
    assert instance["mentors"] == coalition.mentors


def preference_engine(instance, on_progress, time_limit_seconds):
    """in_order_engine's groups, each member's score with 0.5 preference points in it."""
    result = in_order_engine()(instance, on_progress, time_limit_seconds)
    for group in result["groups"]:
        group["members"] = [dict(member, score=1.5, breakdown={"occupation": 1.0, "preferences": 0.5},
                                 criteria=["same ISCO unit group 2142", "preferred mentor gender", "preferred mentor age band"])
                            for member in group["members"]]
        group["score"] = 1.5 * len(group["members"])
    return result


def test_a_pooled_mentors_group_is_stored_and_shown_without_any_trace_of_preference_matching(database):
    # The partner knows what its mentees asked for: a preference met would reveal the gender and
    # age band of another partner's mentor. Its own mentor's group keeps the preference points.
    coalition, dispatch = Coalition(), Recorded()
    partner, other = new_id(), new_id()
    program = coalition.program(partner)
    own_mentor, pooled_mentor = coalition.mentor(partner), coalition.mentor(other)
    waiting(database, partner, program["id"], 8)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    finish(database, coalition, dispatch, preference_engine)

    result = runs.read_run(database, coordinator(partner), started["id"])["result"]
    stored_items = [item for chunk in database.matching_run_results.find({"run_id": started["id"], "kind": "groups"})
                    for item in chunk["items"]]
    proposals = list(database.groups.find({"run_id": started["id"]}))
    for where in (result["groups"], stored_items, proposals):
        own = next(g for g in where if g["mentor_id"] == own_mentor["id"])
        pooled = next(g for g in where if g["mentor_id"] == pooled_mentor["id"])
        assert own["score"] == 6.0 and all(m["breakdown"]["preferences"] == 0.5 and m["score"] == 1.5 for m in own["members"])
        assert all("preferred mentor gender" in m["criteria"] for m in own["members"])
        assert pooled["score"] == 4.0 and all(m["score"] == 1.0 for m in pooled["members"])
        assert "preferred" not in repr(pooled) and "preferences" not in repr(pooled)


def _dies_on(monkeypatch, number):
    """write_group raising at the `number`-th group, after the groups before it were written."""
    write_group, seen = runs.write_group, []

    def dying(*args):
        seen.append(args[3]["id"])
        if len(seen) == number:
            raise ConnectionError("the instance died")
        return write_group(*args)

    monkeypatch.setattr(runs, "write_group", dying)
    return write_group


def _stale(database, run_id):
    stale = utcnow() - runs.LEASE - datetime.timedelta(seconds=1)
    database.matching_run_claims.update_many({"run_id": run_id}, {"$set": {"renewed_at": stale}})


def test_a_resumed_run_keeps_a_proposal_written_before_it_even_if_members_left_since(database, monkeypatch):
    from matching import groups
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=3, group_size_max=3)
    coalition.mentor(partner)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 6)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    write_group = _dies_on(monkeypatch, 2)
    runs.run_pending(database, coalition, dispatch, in_order_engine())
    monkeypatch.setattr(runs, "write_group", write_group)
    first = f"{started['id']}-0001"
    assert database.groups.find_one({"_id": first})["mentee_ids"] == ids[:3]
    mentees.move_status(database, ids[0], ("proposed",), "withdrawn")  # and review's handler takes them out
    groups.leave_proposal(database, ids[0])
    _stale(database, started["id"])
    runs.run_pending(database, coalition, dispatch, in_order_engine())

    assert runs.read_run(database, coordinator(partner), started["id"])["status"] == "completed"
    written = database.groups.find_one({"_id": first})
    assert written["status"] == "proposed" and written["mentee_ids"] == ids[1:3]
    assert {m["_id"]: (m["status"], m["group_id"]) for m in database.mentees.find({"_id": {"$in": ids[1:3]}})} == \
        {m: ("proposed", first) for m in ids[1:3]}


def test_a_mentee_withdrawn_between_their_move_and_the_proposals_insert_leaves_it(database, monkeypatch):
    from matching import groups
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=3, group_size_max=4)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 4)
    move_status = mentees.move_status

    def withdrawn_right_after_the_last_move(database_, mentee_id, *args, **kwargs):
        moved = move_status(database_, mentee_id, *args, **kwargs)
        if mentee_id == ids[3] and kwargs.get("group_id"):
            move_status(database, ids[0], ("proposed",), "withdrawn")
            assert groups.leave_proposal(database, ids[0]) == []  # the handler: no proposal lists them yet
        return moved

    monkeypatch.setattr(mentees, "move_status", withdrawn_right_after_the_last_move)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    finish(database, coalition, dispatch, in_order_engine())
    run = runs.read_run(database, coordinator(partner), started["id"])
    assert run["status"] == "completed"
    assert database.groups.find_one({"_id": f"{started['id']}-0001"})["mentee_ids"] == ids[1:]
    assert {u["mentee_id"]: u["reason"] for u in run["result"]["unplaced"]} == {ids[0]: runs.WITHDRAWN}


def test_a_run_given_up_after_storing_its_result_lets_the_mentees_of_unwritten_proposals_wait_again(database, monkeypatch):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=2, group_size_max=2)
    coalition.mentor(partner)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 4)
    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    write_group = runs.write_group

    def dies_after_moving_the_second_groups_mentees(database_, dispatch_, run, group, minimum):
        if group["id"].endswith("-0002"):
            for mentee_id in group["mentee_ids"]:
                mentees.move_status(database_, mentee_id, ("waiting",), "proposed", group_id=group["id"])
            raise ConnectionError("the instance died")
        return write_group(database_, dispatch_, run, group, minimum)

    monkeypatch.setattr(runs, "write_group", dies_after_moving_the_second_groups_mentees)
    for _ in range(runs.MAX_ATTEMPTS + 1):
        runs.run_pending(database, coalition, dispatch, in_order_engine())
        _stale(database, started["id"])
    assert runs.read_run(database, coordinator(partner), started["id"])["status"] == "failed"
    statuses = {m["_id"]: (m["status"], m["group_id"]) for m in database.mentees.find({"_id": {"$in": ids}})}
    assert statuses == {ids[0]: ("proposed", f"{started['id']}-0001"), ids[1]: ("proposed", f"{started['id']}-0001"),
                        ids[2]: ("waiting", None), ids[3]: ("waiting", None)}


def test_a_mentee_re_enrolled_elsewhere_while_the_run_solved_is_not_proposed(database):
    coalition, dispatch = Coalition(), Recorded()
    partner = new_id()
    program = coalition.program(partner, group_size_min=2, group_size_max=3)
    coalition.mentor(partner)
    ids = waiting(database, partner, program["id"], 3)
    solve = in_order_engine()

    def re_enrolled_while_solving(instance, on_progress, time_limit_seconds):
        result = solve(instance, on_progress, time_limit_seconds)
        database.mentees.update_one({"_id": ids[0]}, {"$set": {"program_id": new_id()}, "$inc": {"version": 1}})
        return result

    started = runs.start_run(database, coalition, coordinator(partner), program["id"])
    finish(database, coalition, dispatch, re_enrolled_while_solving)
    assert database.groups.find_one({"_id": f"{started['id']}-0001"})["mentee_ids"] == ids[1:]
    assert database.mentees.find_one({"_id": ids[0]})["status"] == "waiting"
