"""The mentor bank's relay finds events a crash left behind through their markers, without
reading every mentor, and publishes each once."""
from unittest.mock import MagicMock

import pytest

from coalition_common.events import outbox_entry
from coalition_common.identity import operator
from mentor_bank import mentors, outbox

from profiles import mentor_profile

pytestmark = pytest.mark.service

RECRUITER = operator("outbox-test", ("recruiter",), "c" * 32)


@pytest.fixture
def database(scratch_database, monkeypatch):
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    monkeypatch.setattr(outbox, "SETTLED_SECONDS", -1)  # every marker counts as settled at once
    return database


def test_an_event_stored_but_never_published_is_relayed_once_then_forgotten(database):
    # The service stored the mentor and its event, then died before publishing.
    mentor, events = mentors.register_mentor(database, RECRUITER, mentor_profile())
    assert database.mentor_outbox_pending.count_documents({}) == 1
    dispatch = MagicMock()
    assert outbox.relay(database, dispatch) == 1
    assert [(c.args[0], c.args[1]["event_id"]) for c in dispatch.call_args_list] == [("mentor.registered", events[0]["event_id"])]
    assert database.mentors.find_one({"_id": mentor["id"]})["outbox"] == []
    assert database.mentor_outbox_pending.count_documents({}) == 0
    dispatch.reset_mock()
    assert outbox.relay(database, dispatch) == 0 and not dispatch.called


def test_while_the_broker_refuses_the_event_and_its_marker_stay(database):
    mentor, _ = mentors.register_mentor(database, RECRUITER, mentor_profile())
    assert outbox.relay(database, MagicMock(side_effect=ConnectionError("broker down"))) == 0
    assert len(database.mentors.find_one({"_id": mentor["id"]})["outbox"]) == 1
    assert database.mentor_outbox_pending.count_documents({}) == 1
    assert outbox.relay(database, MagicMock()) == 1


def test_a_marker_whose_write_never_happened_is_dropped_without_publishing(database):
    outbox.note(database, "d" * 32, [outbox_entry("mentor.retired", {"mentor_id": "d" * 32})])
    dispatch = MagicMock()
    assert outbox.relay(database, dispatch) == 0 and not dispatch.called
    assert database.mentor_outbox_pending.count_documents({}) == 0


def test_publishing_at_once_leaves_no_marker_behind(database):
    mentor, events = mentors.register_mentor(database, RECRUITER, mentor_profile())
    assert outbox.publish(database, mentor["id"], events, MagicMock()) == 1
    assert database.mentor_outbox_pending.count_documents({}) == 0
