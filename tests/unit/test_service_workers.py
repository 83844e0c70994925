"""Entrypoints tested with nameko's worker_factory: dependencies are fakes, logic is real."""
from unittest.mock import MagicMock

import pytest
from nameko.testing.services import worker_factory

from coalition_common.errors import ValidationFailed
from matching.service import MatchingService
from mentor_bank.service import MentorBankService
from registry.service import RegistryService

MENTEE = {
    "given_name": "Olena", "family_name": "Kovalenko", "email": "olena@example.org", "occupation": "2144",
    "region": "CA-ON", "languages": [{"code": "uk", "level": "C2"}], "goals": ["Design role"], "consent_to_share": True,
}
PERSONAL = ("Olena", "Kovalenko", "olena@example.org", "Design role")
COORDINATOR = {"staff_id": "s-1", "partner_id": "partner-1", "hub_id": None, "roles": ["coordinator"], "key_id": "k-1"}
RECRUITER = dict(COORDINATOR, roles=["recruiter"])


def test_enrolled_mentee_event_carries_no_personal_data():
    service = worker_factory(MatchingService, caller=COORDINATOR)
    mentee = service.enrol_mentee(MENTEE)
    service.dispatch.assert_called_once()
    event_type, payload = service.dispatch.call_args.args
    assert event_type == "mentee.enrolled"
    assert payload["mentee_id"] == mentee["id"] and payload["partner_id"] == "partner-1"
    assert payload["isco_major"] == "2"
    assert not any(value in str(payload) for value in PERSONAL)
    # The write holds the event in the same document, and the published entry is then removed.
    stored = service.database.mentees.insert_one.call_args.args[0]
    assert stored["outbox"][0]["event_id"] == payload["event_id"]
    service.database.mentees.update_one.assert_called_once()


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
    service.enrol_mentee(MENTEE)
    # The mentee was stored with its event; the relay will publish it, so nothing is pulled now.
    service.database.mentees.insert_one.assert_called_once()
    service.database.mentees.update_one.assert_not_called()


def test_authenticate_refuses_unknown_keys_without_saying_why():
    service = worker_factory(RegistryService)
    service.database.api_keys.find_one.return_value = None
    from coalition_common.errors import Unauthenticated

    with pytest.raises(Unauthenticated) as err:
        service.authenticate("cmk_deadbeef_whatever")
    assert err.value.status == 401
