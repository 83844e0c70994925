"""A mentor's lifecycle against the real database: moved by actions only, in order, with the
screening and orientation the quality criteria ask for; events carry nothing personal; an
expired check is announced once; two recruiters acting at once leave one consistent mentor."""
import json
from concurrent.futures import ThreadPoolExecutor
from unittest.mock import MagicMock

import pytest

from coalition_common.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from coalition_common.identity import operator
from mentor_bank import cards, mentors, screening

from profiles import CHECKED_AT, CHECK_EXPIRES_AT, mentor_profile

pytestmark = pytest.mark.service

PARTNER = "a" * 32
RECRUITER = operator("lifecycle-test", ("recruiter",), PARTNER)
OTHER_RECRUITER = operator("lifecycle-test", ("recruiter",), "b" * 32)
CLEAR = {"background_check": "clear", "checked_at": CHECKED_AT, "expires_at": CHECK_EXPIRES_AT}


@pytest.fixture(scope="module")
def database(scratch_database):
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    return database


def register(database, **overrides):
    mentor, events = mentors.register_mentor(database, RECRUITER, mentor_profile(**overrides))
    return mentor, events


def move(database, mentor_id, status):
    return mentors.change_status(database, RECRUITER, mentor_id, {"status": status})


def test_a_mentor_becomes_active_only_after_a_valid_check_and_orientation(database):
    mentor, events = register(database)
    assert mentor["status"] == "applicant" and mentor["eligible_now"] is False
    assert [e["type"] for e in events] == ["mentor.registered"]
    with pytest.raises(Conflict, match="background check"):
        move(database, mentor["id"], "screened")
    mentors.record_screening(database, RECRUITER, mentor["id"], {"background_check": "pending"})
    with pytest.raises(Conflict, match="background check"):
        move(database, mentor["id"], "screened")
    mentors.record_screening(database, RECRUITER, mentor["id"], CLEAR)
    move(database, mentor["id"], "screened")
    with pytest.raises(Conflict, match="Orientation"):
        move(database, mentor["id"], "trained")
    with pytest.raises(Conflict, match="cannot become active"):
        move(database, mentor["id"], "active")  # one step at a time
    mentors.record_orientation(database, RECRUITER, mentor["id"], {"completed_at": CHECKED_AT})
    move(database, mentor["id"], "trained")
    active, events = move(database, mentor["id"], "active")
    assert active["eligible_now"] is True and [e["type"] for e in events] == ["mentor.activated"]
    paused, events = move(database, mentor["id"], "paused")
    assert paused["eligible_now"] is False and [e["type"] for e in events] == ["mentor.paused"]
    assert [e["type"] for e in move(database, mentor["id"], "active")[1]] == ["mentor.activated"]
    retired, events = move(database, mentor["id"], "retired")
    assert [e["type"] for e in events] == ["mentor.retired"]
    with pytest.raises(Conflict):
        move(database, mentor["id"], "active")
    # A retired mentor's record no longer changes, nor joins the pool; consent can still be withdrawn.
    consent = {"consent_text_version": "2026-1", "consented_at": CHECKED_AT}
    for change in (lambda: mentors.update_mentor(database, RECRUITER, mentor["id"], {"city": "Ottawa"}),
                   lambda: mentors.change_sharing(database, RECRUITER, mentor["id"], dict(consent, scope="coalition")),
                   lambda: mentors.record_orientation(database, RECRUITER, mentor["id"], {"completed_at": CHECKED_AT})):
        with pytest.raises(Conflict, match="retired"):
            change()
    assert mentors.change_sharing(database, RECRUITER, mentor["id"], dict(consent, scope="own_partner"))[0]["sharing"]["scope"] == "own_partner"


def test_status_never_moves_by_patch_and_profile_changes_are_checked(database):
    mentor, _ = register(database)
    for field, value in (("status", "active"), ("screening", CLEAR), ("partner_id", "c" * 32), ("sharing", {"scope": "coalition"})):
        with pytest.raises(ValidationFailed) as refused:
            mentors.update_mentor(database, RECRUITER, mentor["id"], {field: value})
        assert field in refused.value.errors
    for field, value in (("capacity", 6), ("occupations", ["21"]), ("languages", [{"code": "en", "level": "D1"}]),
                         ("given_name", None), ("phone", "555-1234")):
        with pytest.raises(ValidationFailed) as refused:
            mentors.update_mentor(database, RECRUITER, mentor["id"], {field: value})
        assert field in refused.value.errors
    assert database.mentors.find_one({"_id": mentor["id"]})["version"] == 1  # nothing half-written
    changed, _ = mentors.update_mentor(database, RECRUITER, mentor["id"], {"capacity": 3}, expected_version=1)
    assert changed["capacity"] == 3 and changed["version"] == 2
    with pytest.raises(PreconditionFailed):
        mentors.update_mentor(database, RECRUITER, mentor["id"], {"capacity": 2}, expected_version=1)


def test_another_partner_can_neither_change_nor_read_a_private_mentor(database):
    mentor, _ = register(database)
    for action in (lambda: mentors.update_mentor(database, OTHER_RECRUITER, mentor["id"], {"capacity": 2}),
                   lambda: mentors.change_status(database, OTHER_RECRUITER, mentor["id"], {"status": "retired"}),
                   lambda: mentors.erase_mentor(database, OTHER_RECRUITER, mentor["id"]),
                   lambda: mentors.read_mentor(database, OTHER_RECRUITER, mentor["id"])):
        with pytest.raises(NotFound):
            action()


def test_the_same_email_twice_in_one_partner_is_refused_whatever_its_case(database):
    first, _ = register(database, email="Same.Person@mentor.example")
    with pytest.raises(Conflict) as refused:
        register(database, email="same.person@MENTOR.example")
    assert "email" in refused.value.errors
    # Another partner may know the same person: no collision, and no hint of the first.
    mentors.register_mentor(database, OTHER_RECRUITER, mentor_profile(email="same.person@mentor.example"))


def test_events_carry_ids_and_codes_only(database):
    mentor, events = register(database, given_name="Zainab", family_name="Qureshi", city="Regina")
    _, more = move(database, mentor["id"], "retired")
    for event in events + more:
        text = json.dumps(event["payload"])
        assert "Zainab" not in text and "Qureshi" not in text and mentor["email"] not in text and "Regina" not in text
        assert event["payload"]["mentor_id"] == mentor["id"] and event["payload"]["occurred_at"]


def test_an_expired_check_makes_the_mentor_ineligible_at_once_and_is_announced_once(database):
    mentor, _ = register(database)
    mentors.record_screening(database, RECRUITER, mentor["id"], CLEAR)
    move(database, mentor["id"], "screened")
    mentors.record_orientation(database, RECRUITER, mentor["id"], {"completed_at": CHECKED_AT})
    move(database, mentor["id"], "trained")
    move(database, mentor["id"], "active")
    mentors.record_screening(database, RECRUITER, mentor["id"], {
        "background_check": "clear", "checked_at": "2024-01-01T00:00:00+00:00", "expires_at": "2025-01-01T00:00:00+00:00"})
    assert mentors.read_mentor(database, RECRUITER, mentor["id"])["eligible_now"] is False  # before any timer ran
    dispatch = MagicMock()
    assert screening.announce_expired(database, dispatch) >= 1
    announced = [call.args for call in dispatch.call_args_list if call.args[1]["mentor_id"] == mentor["id"]]
    assert [event_type for event_type, _ in announced] == ["mentor.screening_expired"]
    dispatch.reset_mock()
    screening.announce_expired(database, dispatch)
    assert all(call.args[1]["mentor_id"] != mentor["id"] for call in dispatch.call_args_list)


def test_two_recruiters_recording_consent_at_once_lose_no_change(database):
    mentor, _ = register(database)
    scopes = ["coalition", "own_partner"] * 4

    def attempt(scope):
        try:
            return mentors.change_sharing(database, RECRUITER, mentor["id"], {
                "scope": scope, "consent_text_version": "2026-1", "consented_at": CHECKED_AT})[0]["sharing"]["scope"]
        except Conflict:
            return None  # told to read again and retry: nothing was written

    with ThreadPoolExecutor(8) as pool:
        accepted = [scope for scope in pool.map(attempt, scopes) if scope]
    stored = database.mentors.find_one({"_id": mentor["id"]})
    # Every change a recruiter was told succeeded is in the history, and nothing else is.
    assert accepted and len(stored["sharing_history"]) == len(accepted)
    assert stored["sharing"]["scope"] == stored["sharing_history"][-1]["scope"]
    # The newest card matches the stored mentor: the search index never disagrees with it.
    newest = max(database.mentor_changes.find({"mentor_id": mentor["id"]}), key=lambda change: change["version"])
    assert newest["version"] == stored["version"] and newest["card"] == cards.card_of(stored)
