"""Entrypoints tested with nameko's worker_factory: dependencies are fakes, logic is real."""
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from coalition_common.errors import ValidationFailed
from matching.service import MatchingService
from mentor_bank.service import MentorBankService
from registry.service import RegistryService

MENTEE = {
    "given_name": "Olena", "family_name": "Kovalenko", "email": "olena@example.org", "phone": "+14165550188", "city": "Mississauga",
    "country_trained": "UA", "occupation": "2144", "target_occupation": "2144", "years_experience": 8,
    "credential_recognition": "not_started", "region": "CA-ON", "languages": [{"code": "uk", "level": "C2"}], "modes": ["virtual"],
    "goals": ["job_search"], "consent": {"version": "2026-1", "given_at": "2026-01-10T09:00:00+00:00"},
}
PERSONAL = ("Olena", "Kovalenko", "olena@example.org", "+14165550188", "Mississauga")
COORDINATOR = {"staff_id": "s-1", "partner_id": "partner-1", "hub_id": None, "roles": ["coordinator"], "key_id": "k-1"}
RECRUITER = dict(COORDINATOR, roles=["recruiter"])


def stored_mentee(service):
    """What the fake database hands back: the mentee just inserted, at version 1."""
    document = dict(service.database.mentees.insert_one.call_args.args[0])
    service.database.mentees.find_one.return_value = document
    return document


def test_admitted_mentee_event_carries_no_personal_data():
    service = worker_factory(MatchingService, caller=COORDINATOR)
    mentee = service.create_mentee(MENTEE)
    service.dispatch.assert_not_called()  # intake alone is no event
    document = stored_mentee(service)
    service.database.mentees.find_one_and_update.return_value = dict(document, version=2, admitted_at=document["created_at"])
    service.admit_mentee(mentee["id"], {})
    service.dispatch.assert_called_once()
    event_type, payload = service.dispatch.call_args.args
    assert event_type == "mentee.admitted"
    assert payload["mentee_id"] == mentee["id"] and payload["partner_id"] == "partner-1"
    assert not any(value in str(payload) for value in PERSONAL)
    # The write holds the event in the same document (the published entry is then removed).
    written = service.database.mentees.find_one_and_update.call_args.args[1]
    assert written["$push"]["outbox"]["$each"][0]["event_id"] == payload["event_id"]


def test_invalid_mentor_is_refused_before_anything_is_written():
    service = worker_factory(MentorBankService, caller=RECRUITER)
    with pytest.raises(ValidationFailed) as err:
        service.register_mentor({"given_name": "A", "family_name": "B", "email": "nope",
                                              "occupations": ["21"], "region": "CA-ON", "languages": [{"code": "EN", "level": "Z9"}],
                                 "years_experience": 3, "modes": ["virtual"]})
    assert set(err.value.errors) == {"email", "languages", "occupations"}
    service.database.mentors.insert_one.assert_not_called()
    service.dispatch.assert_not_called()


def test_event_left_in_outbox_when_the_broker_refuses():
    service = worker_factory(MatchingService, caller=COORDINATOR, dispatch=MagicMock(side_effect=ConnectionError("broker down")))
    mentee = service.create_mentee(MENTEE)
    document = stored_mentee(service)
    service.database.mentees.find_one_and_update.return_value = dict(document, version=2)
    service.admit_mentee(mentee["id"], {})
    # The mentee was stored with its event; the relay will publish it, so nothing is pulled now.
    service.database.mentees.find_one_and_update.assert_called_once()
    service.database.mentees.update_one.assert_not_called()


def test_authenticate_refuses_unknown_keys_without_saying_why():
    service = worker_factory(RegistryService)
    service.database.api_keys.find_one.return_value = None
    from coalition_common.errors import Unauthenticated

    with pytest.raises(Unauthenticated) as err:
        service.authenticate("cmk_deadbeef_whatever")
    assert err.value.status == 401
