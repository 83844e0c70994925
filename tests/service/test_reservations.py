"""Capacity reservations against the real database: a mentor is never over capacity, however
many proposals race for their places, and every call is idempotent by proposal id."""
import datetime
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.identity import operator
from mentor_bank import mentors, reservations
from profiles import mentor_profile, make_ready

pytestmark = pytest.mark.service

PARTNER = "p" * 32
COORDINATOR = operator("reservation-test", ("coordinator",), PARTNER)
OUTSIDER = operator("reservation-test", ("coordinator",), "o" * 32)


@pytest.fixture(scope="module")
def database(scratch_database):
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    return database


RECRUITER = operator("reservation-test", ("recruiter",), PARTNER)


def new_mentor(database, capacity, ready=True):
    mentor, _ = mentors.register_mentor(database, RECRUITER, mentor_profile(capacity=capacity))
    if ready:
        make_ready(lambda method, mentor_id, payload: getattr(mentors, method)(database, RECRUITER, mentor_id, payload), mentor["id"])
    return mentor["id"]


def outcomes(database, mentor_id, proposals):
    def attempt(proposal_id):
        try:
            return reservations.reserve(database, COORDINATOR, mentor_id, proposal_id, 600)
        except Conflict as refused:
            return refused

    with ThreadPoolExecutor(len(proposals)) as pool:
        return list(pool.map(attempt, proposals))


@pytest.mark.parametrize("repetition", range(20))
def test_fifty_concurrent_reservations_of_a_mentor_with_two_places_give_exactly_two(database, repetition):
    mentor_id = new_mentor(database, capacity=2)
    results = outcomes(database, mentor_id, [uuid.uuid4().hex for _ in range(50)])
    held = [r for r in results if isinstance(r, dict)]
    assert len(held) == 2
    assert all("no free place" in str(r).lower() for r in results if not isinstance(r, dict))
    stored = database.mentors.find_one({"_id": mentor_id})
    assert sorted(h["proposal_id"] for h in stored["holds"]) == sorted(h["proposal_id"] for h in held)


def test_reserving_confirming_and_releasing_are_idempotent_by_proposal(database):
    mentor_id = new_mentor(database, capacity=1)
    first = reservations.reserve(database, COORDINATOR, mentor_id, "proposal-a", 600)
    assert reservations.reserve(database, COORDINATOR, mentor_id, "proposal-a", 600) == first
    with pytest.raises(Conflict):
        reservations.reserve(database, COORDINATOR, mentor_id, "proposal-b", 600)
    assert reservations.confirm(database, COORDINATOR, "proposal-a")["status"] == "confirmed"
    assert reservations.confirm(database, COORDINATOR, "proposal-a")["status"] == "confirmed"
    reservations.release(database, COORDINATOR, "proposal-a")
    reservations.release(database, COORDINATOR, "proposal-a")
    assert reservations.reserve(database, COORDINATOR, mentor_id, "proposal-b", 600)["status"] == "held"


def test_an_expired_hold_frees_its_place_and_cannot_be_confirmed(database):
    mentor_id = new_mentor(database, capacity=1)
    reservations.reserve(database, COORDINATOR, mentor_id, "proposal-old", 600)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    database.mentors.update_one({"_id": mentor_id}, {"$set": {"holds.0.expires_at": past}})  # time passes
    assert reservations.reserve(database, COORDINATOR, mentor_id, "proposal-new", 600)["status"] == "held"
    with pytest.raises(NotFound):
        reservations.confirm(database, COORDINATOR, "proposal-old")
    assert [h["proposal_id"] for h in database.mentors.find_one({"_id": mentor_id})["holds"]] == ["proposal-new"]


def test_only_mentors_the_caller_may_see_can_be_reserved_and_bad_input_is_refused(database):
    mentor_id = new_mentor(database, capacity=1)
    with pytest.raises(NotFound):
        reservations.reserve(database, OUTSIDER, mentor_id, "proposal-x", 600)  # not pooled, another partner
    for ttl in (0, 3.5, "60", True, reservations.MAX_TTL_SECONDS + 1):
        with pytest.raises(ValidationFailed):
            reservations.reserve(database, COORDINATOR, mentor_id, "proposal-x", ttl)
    assert "holds" not in database.mentors.find_one({"_id": mentor_id}) or not database.mentors.find_one({"_id": mentor_id})["holds"]


def test_a_mentor_not_eligible_for_new_groups_cannot_be_reserved(database):
    applicant = new_mentor(database, capacity=2, ready=False)
    with pytest.raises(Conflict, match="not eligible"):
        reservations.reserve(database, COORDINATOR, applicant, "proposal-applicant", 600)
    expired = new_mentor(database, capacity=2)
    mentors.record_screening(database, RECRUITER, expired, {"background_check": "clear", "checked_at": "2024-01-01T00:00:00+00:00",
                                                            "expires_at": "2025-01-01T00:00:00+00:00"})
    with pytest.raises(Conflict, match="not eligible"):
        reservations.reserve(database, COORDINATOR, expired, "proposal-expired", 600)


def test_another_partner_reserves_only_while_the_mentor_shares_and_both_joined_the_pool(database):
    from mentor_bank import pool
    from profiles import CONSENT, WITHDRAWN

    mentor_id = new_mentor(database, capacity=3)
    with pytest.raises(NotFound):
        reservations.reserve(database, OUTSIDER, mentor_id, "proposal-early", 600)
    for partner in (PARTNER, OUTSIDER["partner_id"]):
        pool.join(database, {"partner_id": partner, "version": "2026-1"})
    with pytest.raises(NotFound):  # both joined, but the mentor has not consented
        reservations.reserve(database, OUTSIDER, mentor_id, "proposal-early", 600)
    mentors.change_sharing(database, RECRUITER, mentor_id, CONSENT)
    assert reservations.reserve(database, OUTSIDER, mentor_id, "proposal-shared", 600)["status"] == "held"
    mentors.change_sharing(database, RECRUITER, mentor_id, WITHDRAWN)
    with pytest.raises(NotFound):  # withdrawal holds for new matches at once
        reservations.reserve(database, OUTSIDER, mentor_id, "proposal-late", 600)
    with pytest.raises(Conflict, match="no longer shares"):  # and stops a proposal not yet confirmed
        reservations.confirm(database, OUTSIDER, "proposal-shared")


def test_only_the_partner_that_made_a_hold_confirms_or_releases_it(database):
    from mentor_bank import pool
    from profiles import CONSENT

    mentor_id = new_mentor(database, capacity=1)
    # Shared with both partners, so the outsider sees the mentor and only the hold's owner decides.
    mentors.change_sharing(database, RECRUITER, mentor_id, CONSENT)
    for partner in (PARTNER, OUTSIDER["partner_id"]):
        pool.join(database, {"partner_id": partner, "version": "2026-1"})
    reservations.reserve(database, COORDINATOR, mentor_id, "proposal-mine", 600)
    # Knowing the proposal id is not enough: another partner neither confirms nor frees the place.
    with pytest.raises(NotFound):
        reservations.confirm(database, OUTSIDER, "proposal-mine")
    reservations.release(database, OUTSIDER, "proposal-mine")
    with pytest.raises(Conflict):  # nor reuses the id to take the place over
        reservations.reserve(database, OUTSIDER, mentor_id, "proposal-mine", 600)
    assert [(h["proposal_id"], h["status"]) for h in database.mentors.find_one({"_id": mentor_id})["holds"]] == [("proposal-mine", "held")]
    assert reservations.confirm(database, COORDINATOR, "proposal-mine")["status"] == "confirmed"
    reservations.release(database, COORDINATOR, "proposal-mine")
    assert database.mentors.find_one({"_id": mentor_id})["holds"] == []
