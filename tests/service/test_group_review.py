"""Review of proposals through the real services (registry, mentor bank, matching) over the real
broker and database: four eyes, holds on the mentor's places that never over-book, rejection and
expiry that give places and mentees back, and edits refused when they break a hard rule.

Proposals are inserted here as a run writes them (matching.runs.write_group), so that review is
tested on its own."""
import datetime
import threading
import uuid

import pytest

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.identity import operator
from coalition_common.ids import new_id, utcnow
from matching import groups, mentees, rules

from harness import wait_for
from profiles import CONSENT, make_ready, mentor_profile

pytestmark = pytest.mark.service

ADMIN = operator("review-test")


@pytest.fixture(scope="module")
def services(platform_factory):
    return platform_factory("review", ("registry", "mentor_bank", "matching"))


class Partner:
    """A partner with a programme, two coordinators (the four eyes) and a recruiter."""

    def __init__(self, services, label):
        self.services = services
        partner = services.rpc("registry", "register_partner", {"name": f"Review {label} {uuid.uuid4().hex[:6]}", "kind": "ngo",
                                                                "region": "CA-ON"}, identity=ADMIN)
        self.id = partner["id"]
        self.alice = operator(f"alice-{label}", ("coordinator",), self.id)
        self.bob = operator(f"bob-{label}", ("coordinator",), self.id)
        self.recruiter = operator(f"recruiter-{label}", ("recruiter",), self.id)
        self.program = services.rpc("registry", "create_program", {"name": f"Cohort {label}", "start_date": "2027-01-15"},
                                    identity=self.alice)
        self.database = services.database("matching")

    def rpc(self, who, method, *args):
        return self.services.rpc("matching", method, *args, identity=who)

    def mentor(self, capacity=1, **fields):
        profile = mentor_profile(capacity=capacity, **fields)
        mentor = self.services.rpc("mentor_bank", "register_mentor", profile, identity=self.recruiter)
        make_ready(lambda method, mentor_id, payload: self.services.rpc("mentor_bank", method, mentor_id, payload, identity=self.recruiter),
                   mentor["id"])
        return mentor["id"]

    def mentees(self, count, **fields):
        """Mentees proposed by a run (status `proposed`), as intake stores them; no personal data needed here."""
        made = []
        for _ in range(count):
            mentee = {"_id": new_id(), "partner_id": self.id, "program_id": self.program["id"], "status": "proposed", "group_id": None,
                      "occupation": "2142", "target_occupation": "2142", "years_experience": 8, "credential_recognition": "in_progress",
                      "languages": [{"code": "en", "level": "B2"}], "region": "CA-ON", "modes": ["virtual"],
                      "availability": ["tue_evening"], "goals": ["job_search"], "preferences": {}, "needs_communication_support": False,
                      "applied_at": utcnow() - datetime.timedelta(days=20), "version": 1, "created_at": utcnow()}
            mentee.update(fields)
            made.append(mentee)
        self.database.mentees.insert_many(made)
        return [m["_id"] for m in made]

    def proposal(self, mentor_id, mentee_ids, run_id=None, n=1, expires_in=datetime.timedelta(days=14)):
        """A proposal as matching.runs writes it, explained by the engine's rules."""
        run_id = run_id or new_id()
        group_id = f"{run_id}-{n:04d}"
        mentor = self.services.rpc("mentor_bank", "matching_candidate", mentor_id, identity=self.alice)
        now = utcnow()
        found = {m["_id"]: mentees.instance_of(m, now) for m in self.database.mentees.find({"_id": {"$in": mentee_ids}})}
        explained = rules.explain_group({"group_size_min": 3, "group_size_max": 5}, mentor, [found[m] for m in mentee_ids])
        self.database.groups.insert_one({
            "_id": group_id, "program_id": self.program["id"], "partner_id": self.id, "run_id": run_id, "mentor_id": mentor_id,
            "mentor_partner_id": mentor["partner_id"], "mentee_ids": list(mentee_ids), "common": explained["common"],
            "rule_set": explained["rule_set"], "score": explained["score"], "members": explained["members"], "status": "proposed",
            "approvals": [], "reserved": False, "expires_at": now + expires_in, "version": 1, "created_at": now, "outbox": []})
        for mentee_id in mentee_ids:
            self.database.mentees.update_one({"_id": mentee_id}, {"$set": {"group_id": group_id}})
        return group_id

    def holds(self, mentor_id):
        mentor = self.services.database("mentor_bank").mentors.find_one({"_id": mentor_id})
        return [(h["proposal_id"], h["status"]) for h in mentor.get("holds") or ()]

    def group(self, group_id):
        return self.database.groups.find_one({"_id": group_id})

    def statuses(self, mentee_ids):
        return {m["_id"]: (m["status"], m.get("group_id")) for m in self.database.mentees.find({"_id": {"$in": list(mentee_ids)}})}


@pytest.fixture(scope="module")
def partner(services):
    return Partner(services, "a")


def test_a_proposal_becomes_a_group_only_after_two_different_staff_members_approve_it(partner):
    mentor_id = partner.mentor()
    team = partner.mentees(3)
    group_id = partner.proposal(mentor_id, team)

    first = partner.rpc(partner.alice, "approve_group", group_id)
    assert first["status"] == "proposed" and [a["staff_id"] for a in first["approvals"]] == [partner.alice["staff_id"]]
    assert first["reserved"] is True
    assert partner.holds(mentor_id) == [(group_id, "held")]  # the first approval holds the mentor's place

    # The same person approving again is refused, and changes nothing.
    with pytest.raises(Conflict) as again:
        partner.rpc(partner.alice, "approve_group", group_id)
    assert "approvals" in again.value.errors
    assert partner.group(group_id)["status"] == "proposed" and len(partner.group(group_id)["approvals"]) == 1

    second = partner.rpc(partner.bob, "approve_group", group_id)
    assert second["status"] == "approved"
    assert [a["staff_id"] for a in second["approvals"]] == [partner.alice["staff_id"], partner.bob["staff_id"]]
    assert partner.holds(mentor_id) == [(group_id, "confirmed")]
    assert set(partner.statuses(team).values()) == {("matched", group_id)}
    with pytest.raises(Conflict):  # a group is decided: nobody approves it a third time
        partner.rpc(operator("carol-a", ("coordinator",), partner.id), "approve_group", group_id)
    # group.approved went out (its outbox emptied) with ids and organisations only.
    wait_for(lambda: partner.group(group_id)["outbox"] == [], message="group.approved published")


def test_another_partner_neither_sees_nor_decides_a_proposal(services, partner):
    group_id = partner.proposal(partner.mentor(), partner.mentees(3))
    other = Partner(services, "other")
    for method, args in (("read_group", ()), ("approve_group", ()), ("reject_group", ()),
                         ("swap_mentor", ({"mentor_id": new_id()},))):
        with pytest.raises(NotFound):
            other.rpc(other.alice, method, group_id, *args)
    assert [g["id"] for g in other.rpc(other.alice, "list_groups", {})["items"]] == []
    assert group_id in [g["id"] for g in partner.rpc(partner.alice, "list_groups", {"status": "proposed", "limit": 200})["items"]]
    assert partner.group(group_id)["approvals"] == []


def test_a_mentor_taken_meanwhile_fails_the_approval_with_409_and_is_never_over_booked(partner):
    mentor_id = partner.mentor(capacity=1)
    first_group = partner.proposal(mentor_id, partner.mentees(3))
    second_group = partner.proposal(mentor_id, partner.mentees(3))
    partner.rpc(partner.alice, "approve_group", first_group)

    with pytest.raises(Conflict) as taken:
        partner.rpc(partner.bob, "approve_group", second_group)
    assert "mentor was taken" in taken.value.detail and taken.value.errors["mentor_id"] == ["No free place."]
    assert partner.group(second_group)["approvals"] == []  # the refused approval is taken back: edits are open again
    assert partner.holds(mentor_id) == [(first_group, "held")]

    partner.rpc(partner.bob, "approve_group", first_group)
    assert partner.holds(mentor_id) == [(first_group, "confirmed")]
    # A mentor who is no longer eligible (paused) fails the same way, naming why.
    paused = partner.mentor(capacity=2)
    group_id = partner.proposal(paused, partner.mentees(3))
    partner.services.rpc("mentor_bank", "change_status", paused, {"status": "paused"}, identity=partner.recruiter)
    with pytest.raises(Conflict) as ineligible:
        partner.rpc(partner.alice, "approve_group", group_id)
    assert ineligible.value.errors["mentor_id"] == ["Not eligible."]
    assert partner.holds(paused) == []


def race(*calls):
    """Run the calls at once; each outcome is its answer or the error it raised."""
    outcomes = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(k):
        start.wait()
        try:
            outcomes[k] = calls[k]()
        except (Conflict, NotFound, ValidationFailed) as refused:
            outcomes[k] = refused

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("repetition", range(4))
def test_two_staff_approving_at_once_never_leave_invalid_data(partner, repetition):
    mentor_id = partner.mentor(capacity=1)
    team = partner.mentees(3)
    group_id = partner.proposal(mentor_id, team)
    outcomes = race(lambda: partner.rpc(partner.alice, "approve_group", group_id),
                    lambda: partner.rpc(partner.bob, "approve_group", group_id))
    won = [o for o in outcomes if isinstance(o, dict)]
    assert len(won) >= 1 and all(isinstance(o, (dict, Conflict)) for o in outcomes)
    group = partner.group(group_id)
    staff = [a["staff_id"] for a in group["approvals"]]
    assert len(staff) == len(set(staff)) == len(won)
    assert partner.holds(mentor_id) == [(group_id, "confirmed" if group["status"] == "approved" else "held")]
    if group["status"] == "proposed":  # one lost the race (409): their second try makes it a group
        loser = partner.bob if staff == [partner.alice["staff_id"]] else partner.alice
        assert partner.rpc(loser, "approve_group", group_id)["status"] == "approved"
    assert partner.holds(mentor_id) == [(group_id, "confirmed")]
    assert set(partner.statuses(team).values()) == {("matched", group_id)}


@pytest.mark.parametrize("repetition", range(4))
def test_two_proposals_racing_for_a_mentors_last_place_get_it_once(partner, repetition):
    mentor_id = partner.mentor(capacity=1)
    first, second = partner.proposal(mentor_id, partner.mentees(3)), partner.proposal(mentor_id, partner.mentees(3))
    outcomes = race(lambda: partner.rpc(partner.alice, "approve_group", first),
                    lambda: partner.rpc(partner.bob, "approve_group", second))
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "dict"]
    holder = first if isinstance(outcomes[0], dict) else second
    assert partner.holds(mentor_id) == [(holder, "held")]
    loser = second if holder == first else first
    assert partner.group(loser)["approvals"] == []


@pytest.mark.parametrize("repetition", range(4))
def test_an_approval_racing_a_rejection_leaves_either_a_group_or_nothing_held(partner, repetition):
    mentor_id = partner.mentor(capacity=1)
    team = partner.mentees(3)
    group_id = partner.proposal(mentor_id, team)
    partner.rpc(partner.alice, "approve_group", group_id)
    carol = operator("carol-a", ("coordinator",), partner.id)
    outcomes = race(lambda: partner.rpc(partner.bob, "approve_group", group_id),
                    lambda: partner.rpc(carol, "reject_group", group_id))
    group = partner.group(group_id)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "dict"], outcomes
    if group["status"] == "approved":
        assert partner.holds(mentor_id) == [(group_id, "confirmed")]
        assert set(partner.statuses(team).values()) == {("matched", group_id)}
    else:
        assert group["status"] == "rejected"
        assert partner.holds(mentor_id) == []
        assert set(partner.statuses(team).values()) == {("waiting", None)}


def test_rejection_releases_the_place_and_the_mentees_wait_again(partner):
    mentor_id = partner.mentor(capacity=1)
    team = partner.mentees(3)
    group_id = partner.proposal(mentor_id, team)
    partner.rpc(partner.alice, "approve_group", group_id)
    assert partner.holds(mentor_id) == [(group_id, "held")]
    rejected = partner.rpc(partner.bob, "reject_group", group_id)
    assert rejected["status"] == "rejected"
    assert partner.holds(mentor_id) == []
    assert set(partner.statuses(team).values()) == {("waiting", None)}
    for method in ("approve_group", "reject_group"):
        with pytest.raises(Conflict):
            partner.rpc(partner.bob, method, group_id)
    # The place is free for another proposal at once.
    assert partner.rpc(partner.alice, "approve_group", partner.proposal(mentor_id, partner.mentees(3)))["reserved"] is True


def test_a_proposal_nobody_decided_in_time_expires_and_gives_its_place_and_mentees_back(services, partner):
    mentor_id = partner.mentor(capacity=1)
    team = partner.mentees(3)
    group_id = partner.proposal(mentor_id, team)
    partner.rpc(partner.alice, "approve_group", group_id)
    assert partner.holds(mentor_id) == [(group_id, "held")]
    partner.database.groups.update_one({"_id": group_id}, {"$set": {"expires_at": utcnow() - datetime.timedelta(seconds=1)}})
    with pytest.raises(Conflict, match="expired"):  # time ran out: no decision any more
        partner.rpc(partner.bob, "approve_group", group_id)

    def call(service, method, *args, identity):
        return services.rpc(service, method, *args, identity=identity)

    groups.expire_due(partner.database, lambda partner_id: groups.Services(call, groups.acting_for(partner_id)))
    assert partner.group(group_id)["status"] == "expired"
    assert partner.holds(mentor_id) == []
    assert set(partner.statuses(team).values()) == {("waiting", None)}


def test_a_swapped_mentor_that_breaks_a_hard_rule_is_refused_naming_it(partner):
    team = partner.mentees(3)
    group_id = partner.proposal(partner.mentor(), team)
    french_only = partner.mentor(languages=[{"code": "fr", "level": "C2"}])
    with pytest.raises(ValidationFailed) as refused:
        partner.rpc(partner.alice, "swap_mentor", group_id, {"mentor_id": french_only})
    assert any(message.startswith("language_level:") for message in refused.value.errors["mentor_id"])
    with pytest.raises(ValidationFailed) as unseen:  # a mentor the partner may not see (or none)
        partner.rpc(partner.alice, "swap_mentor", group_id, {"mentor_id": new_id()})
    assert unseen.value.errors["mentor_id"][0].startswith("visibility:")
    busy = partner.mentor(capacity=1)
    partner.proposal(busy, partner.mentees(3))  # its one place is proposed elsewhere already
    with pytest.raises(ValidationFailed) as full:
        partner.rpc(partner.alice, "swap_mentor", group_id, {"mentor_id": busy})
    assert full.value.errors["mentor_id"][0].startswith("capacity:")
    assert partner.group(group_id)["version"] == 1  # nothing changed


def test_a_swapped_mentor_answers_the_rescored_explanation(partner):
    team = partner.mentees(3)
    group_id = partner.proposal(partner.mentor(occupations=["2141"]), team)
    before = partner.rpc(partner.alice, "read_group", group_id)
    closer = partner.mentor(occupations=["2142"])
    after = partner.rpc(partner.alice, "swap_mentor", group_id, {"mentor_id": closer})
    assert after["mentor_id"] == closer and after["version"] == before["version"] + 1
    assert after["score"] > before["score"]
    assert all("same ISCO-08 unit group 2142" in member["criteria"] for member in after["members"])
    assert [m["mentee_id"] for m in after["members"]] == team


def test_moving_a_mentee_rescored_both_proposals_and_refuses_a_move_that_breaks_a_rule(partner):
    run_id = new_id()
    into = partner.proposal(partner.mentor(capacity=1), partner.mentees(3), run_id=run_id, n=1)
    source_team = partner.mentees(4)
    source = partner.proposal(partner.mentor(capacity=1), source_team, run_id=run_id, n=2)
    moved = partner.rpc(partner.alice, "move_mentee", into, {"mentee_id": source_team[0], "from_group_id": source})
    assert source_team[0] in moved["group"]["mentee_ids"] and len(moved["group"]["members"]) == 4
    assert source_team[0] not in moved["from_group"]["mentee_ids"] and len(moved["from_group"]["members"]) == 3
    assert partner.statuses([source_team[0]])[source_team[0]] == ("proposed", into)

    # Taking another would leave the source below the programme's minimum of 3.
    with pytest.raises(ValidationFailed) as too_small:
        partner.rpc(partner.alice, "move_mentee", into, {"mentee_id": source_team[1], "from_group_id": source})
    assert too_small.value.errors["from_group_id"][0].startswith("group_size:")

    # A mentee with no common weekly slot cannot join.
    odd = partner.mentees(1, availability=["mon_morning"])
    third = partner.proposal(partner.mentor(capacity=1, availability=["mon_morning", "tue_evening"]),
                             partner.mentees(3) + odd, run_id=run_id, n=3)
    with pytest.raises(ValidationFailed) as no_slot:
        partner.rpc(partner.alice, "move_mentee", into, {"mentee_id": odd[0], "from_group_id": third})
    assert any(message.startswith("common_slot:") for message in no_slot.value.errors["mentee_id"])
    with pytest.raises(ValidationFailed):  # only within one run
        partner.rpc(partner.alice, "move_mentee", into, {"mentee_id": odd[0],
                                                         "from_group_id": partner.proposal(partner.mentor(), partner.mentees(3))})


def test_edits_stop_at_the_first_approval(partner):
    run_id = new_id()
    group_id = partner.proposal(partner.mentor(capacity=1), partner.mentees(3), run_id=run_id, n=1)
    team = partner.mentees(4)
    other = partner.proposal(partner.mentor(capacity=1), team, run_id=run_id, n=2)
    partner.rpc(partner.alice, "approve_group", group_id)
    with pytest.raises(Conflict) as approved_once:
        partner.rpc(partner.bob, "swap_mentor", group_id, {"mentor_id": partner.mentor()})
    assert "approvals" in approved_once.value.errors
    with pytest.raises(Conflict):
        partner.rpc(partner.bob, "move_mentee", group_id, {"mentee_id": team[0], "from_group_id": other})


def test_a_mentee_withdrawn_while_proposed_leaves_the_proposal(services, partner):
    team = partner.mentees(4)
    group_id = partner.proposal(partner.mentor(), team)
    services.rpc("matching", "withdraw_mentee", team[0], {"reason": "found_work"}, identity=partner.alice)
    wait_for(lambda: partner.group(group_id)["mentee_ids"] == team[1:], message="the mentee left the proposal")
    assert [m["mentee_id"] for m in partner.group(group_id)["members"]] == team[1:]


@pytest.mark.parametrize("repetition", range(4))
def test_an_approval_racing_a_mentor_swap_holds_a_place_of_the_groups_mentor_only(partner, repetition):
    first_mentor, second_mentor = partner.mentor(capacity=1), partner.mentor(capacity=1)
    group_id = partner.proposal(first_mentor, partner.mentees(3))
    outcomes = race(lambda: partner.rpc(partner.alice, "approve_group", group_id),
                    lambda: partner.rpc(partner.bob, "swap_mentor", group_id, {"mentor_id": second_mentor}))
    assert all(isinstance(o, (dict, Conflict)) for o in outcomes), outcomes
    group = partner.group(group_id)
    other = second_mentor if group["mentor_id"] == first_mentor else first_mentor
    assert partner.holds(other) == []
    if group["approvals"]:  # the approval counted: its hold is on the mentor the group has now
        assert partner.holds(group["mentor_id"]) == [(group_id, "held")]
        assert isinstance(outcomes[1], Conflict) == (group["mentor_id"] == first_mentor)  # a swap after it was refused
    else:  # the swap won: the approval answered 409 having held nothing
        assert isinstance(outcomes[0], Conflict) and group["mentor_id"] == second_mentor and partner.holds(second_mentor) == []


def test_a_pooled_mentors_proposal_is_rescored_and_shown_without_any_trace_of_preference_matching(services):
    # The partner knows what its mentees asked for, so a preference met would reveal another
    # partner's mentor's gender and age band (which the mentor bank never shows to it).
    ours, theirs = Partner(services, "pool-a"), Partner(services, "pool-b")
    for partner in (ours, theirs):
        services.rpc("registry", "accept_charter", partner.id, {"version": "2026-1"},
                     identity=operator("review-test", ("partner_admin",), partner.id))
    pooled = theirs.mentor()
    services.rpc("mentor_bank", "change_sharing", pooled, CONSENT, identity=theirs.recruiter)
    wait_for(lambda: _sees(ours, pooled), message="the pooled mentor visible to the other partner")
    team = ours.mentees(3, preferences={"mentor_gender": "woman", "mentor_age_band": "40-49"})
    group_id = ours.proposal(ours.mentor(), team)
    assert all("preferences" in member["breakdown"] for member in ours.rpc(ours.alice, "read_group", group_id)["members"])

    swapped = ours.rpc(ours.alice, "swap_mentor", group_id, {"mentor_id": pooled})
    assert swapped["mentor_partner_id"] == theirs.id
    for answer in (swapped, ours.rpc(ours.alice, "read_group", group_id), ours.group(group_id)):
        assert all("preferences" not in member["breakdown"] for member in answer["members"])
        assert "preferred" not in repr(answer["members"])
        assert answer["score"] == pytest.approx(sum(m["score"] for m in answer["members"]), abs=1e-3)

    # A pooled proposal stored with preference points (as before they were withheld) is shown without them.
    trace = [dict(m, score=m["score"] + 0.5, breakdown=dict(m["breakdown"], preferences=0.5),
                  criteria=m["criteria"] + ["preferred mentor gender"]) for m in ours.group(group_id)["members"]]
    ours.database.groups.update_one({"_id": group_id}, {"$set": {"members": trace, "score": sum(m["score"] for m in trace)}})
    shown = ours.rpc(ours.alice, "read_group", group_id)
    assert "preferred" not in repr(shown) and all("preferences" not in m["breakdown"] for m in shown["members"])
    assert shown["score"] == pytest.approx(swapped["score"], abs=1e-3)


def _sees(partner, mentor_id):
    try:
        return partner.services.rpc("mentor_bank", "matching_candidate", mentor_id, identity=partner.alice)
    except NotFound:
        return None


def test_a_second_approval_is_refused_while_a_member_left_unnoticed_or_the_proposal_is_too_small(partner):
    team = partner.mentees(4)
    group_id = partner.proposal(partner.mentor(), team)
    partner.rpc(partner.alice, "approve_group", group_id)
    # Withdrawn between the run's move and its insert: no handler took them out of the proposal.
    partner.database.mentees.update_one({"_id": team[0]}, {"$set": {"status": "withdrawn"}, "$inc": {"version": 1}})
    with pytest.raises(Conflict) as left:
        partner.rpc(partner.bob, "approve_group", group_id)
    assert any(message.startswith(team[0]) for message in left.value.errors["mentee_ids"])
    assert partner.group(group_id)["status"] == "proposed"

    # Taken out since, the proposal is below the programme's minimum of 3.
    smaller = partner.mentees(3)
    small_id = partner.proposal(partner.mentor(), smaller)
    partner.rpc(partner.alice, "approve_group", small_id)
    groups.leave_proposal(partner.database, smaller[0])
    partner.database.mentees.update_one({"_id": smaller[0]}, {"$set": {"status": "withdrawn"}, "$inc": {"version": 1}})
    with pytest.raises(Conflict) as too_small:
        partner.rpc(partner.bob, "approve_group", small_id)
    assert too_small.value.errors["mentee_ids"][0].startswith("group_size:")
    assert partner.group(small_id)["status"] == "proposed"
    assert set(partner.statuses(smaller[1:]).values()) == {("proposed", small_id)}


def test_a_move_whose_mentee_was_withdrawn_meanwhile_is_undone_with_409(services, partner, monkeypatch):
    run_id = new_id()
    into_team = partner.mentees(3)
    into = partner.proposal(partner.mentor(capacity=1), into_team, run_id=run_id, n=1)
    source_team = partner.mentees(4)
    source = partner.proposal(partner.mentor(capacity=1), source_team, run_id=run_id, n=2)
    bank = groups.Services(lambda service, method, *args, identity, timeout=None:
                           services.rpc(service, method, *args, identity=identity), partner.alice)
    move_status = mentees.move_status

    def withdrawn_first(database, mentee_id, *args, **kwargs):
        move_status(database, mentee_id, ("proposed",), "withdrawn")
        return move_status(database, mentee_id, *args, **kwargs)

    monkeypatch.setattr(mentees, "move_status", withdrawn_first)
    with pytest.raises(Conflict) as refused:
        groups.move_mentee(partner.database, partner.alice, bank, into, {"mentee_id": source_team[0], "from_group_id": source})
    assert "mentee_id" in refused.value.errors
    assert partner.group(into)["mentee_ids"] == into_team  # the target as it was
    assert partner.group(source)["mentee_ids"] == source_team[1:]  # the withdrawn mentee is in neither
    assert partner.statuses([source_team[0]])[source_team[0]][0] == "withdrawn"
