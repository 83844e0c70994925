"""The mentors a matching run may use, from the mentor bank's search index against the real
database: the pooling rules as search applies them, eligible mentors with a place left, and the
engine's fields only (nothing personal beyond the gender and age-band codes a preference needs)."""
import uuid

import pytest

from coalition_common import codes
from coalition_common.errors import ValidationFailed
from coalition_common.identity import operator
from coalition_common.ids import new_id
from mentor_bank import candidates, mentors, pool, reservations, search
from mentor_bank.schemas import PERSONAL_FIELDS

from profiles import CONSENT, make_ready

pytestmark = pytest.mark.service


@pytest.fixture
def database(scratch_database):
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    return database


def recruiter(partner_id):
    return operator("candidates-test", ("recruiter",), partner_id)


def coordinator(partner_id):
    return operator("candidates-test", ("coordinator",), partner_id)


def ready_mentor(database, partner_id, consent=False, **fields):
    payload = {
        "given_name": "Marker", "family_name": "Personname", "email": f"marker.{uuid.uuid4().hex[:8]}@mentor.example",
        "phone": "+14165550100", "employer": "Markeremployer Inc", "city": "Markercity",
        "occupations": ["2221"], "years_experience": 12, "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON",
        "modes": ["virtual"], "availability": ["mon_morning", "wed_evening"], "gender": "woman", "age_band": "40-49",
        "supports_communication_needs": True, "capacity": 2, **fields}
    mentor, _ = mentors.register_mentor(database, recruiter(partner_id), payload)

    def call(method, mentor_id, body):
        getattr(mentors, method)(database, recruiter(partner_id), mentor_id, body)

    make_ready(call, mentor["id"])
    if consent:
        mentors.change_sharing(database, recruiter(partner_id), mentor["id"], CONSENT)
    return mentor["id"]


def all_candidates(database, index, caller, limit=candidates.MAX_PAGE):
    items, cursor = [], None
    while True:
        page = candidates.matching_candidates(database, index, caller, cursor, limit)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_only_mentors_the_partner_may_see_eligible_with_a_place_in_engine_fields_only(database):
    a, b, c = new_id(), new_id(), new_id()
    for joined in (a, b):
        pool.join(database, {"partner_id": joined, "version": "2026-1"})
    own = ready_mentor(database, a)
    pooled = ready_mentor(database, b, consent=True)
    not_consenting = ready_mentor(database, b)
    outside_pool = ready_mentor(database, c, consent=True)  # C never accepted the charter
    applicant, _ = mentors.register_mentor(database, recruiter(a), {
        "given_name": "New", "family_name": "Applicant", "email": "applicant@mentor.example", "occupations": ["2221"],
        "years_experience": 3, "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON", "modes": ["virtual"],
        "availability": ["mon_morning"]})
    full = ready_mentor(database, a, capacity=1)
    reservations.reserve(database, coordinator(a), full, "proposal-1", 600)

    index = search.Index()
    found = {item["id"]: item for item in all_candidates(database, index, coordinator(a))}
    assert set(found) == {own, pooled}
    assert not_consenting not in found and outside_pool not in found and applicant["id"] not in found and full not in found

    item = found[pooled]
    assert set(item) == set(candidates.FIELDS)
    assert not set(item) & set(PERSONAL_FIELDS)
    assert item == {
        "id": pooled, "partner_id": b, "occupations": ["2221"], "languages": [{"code": "en", "level": "C1"}],
        "region": "CA-ON", "modes": ["virtual"], "availability": ["mon_morning", "wed_evening"], "years_experience": 12,
        "places": 2, "supports_communication_needs": True, "eligible": True, "visible": True}
    text = repr(found)
    assert "Marker" not in text and "Personname" not in text and "+1416" not in text and "@" not in text

    # B sees its own two (A's mentor never consented); C, outside the pool, only its own.
    assert set(item["id"] for item in all_candidates(database, index, coordinator(b))) == {pooled, not_consenting}
    assert set(item["id"] for item in all_candidates(database, index, coordinator(c))) == {outside_pool}

    # The preference codes, for candidates only: never another partner's non-consenting mentor.
    asked = [own, pooled, not_consenting, outside_pool, full]
    assert candidates.preference_codes(database, index, coordinator(a), asked) == {
        own: {"gender": "woman", "age_band": "40-49"}, pooled: {"gender": "woman", "age_band": "40-49"},
        full: {"gender": "woman", "age_band": "40-49"}}  # full now, yet eligible: a place may free up

    # Consent withdrawn: gone from A's candidates at once.
    mentors.change_sharing(database, recruiter(b), pooled, dict(CONSENT, scope="own_partner"))
    assert set(item["id"] for item in all_candidates(database, index, coordinator(a))) == {own}


def test_pages_follow_the_cursor_and_the_limit_is_bounded(database):
    a = new_id()
    made = {ready_mentor(database, a) for _ in range(5)}
    index = search.Index()
    first = candidates.matching_candidates(database, index, coordinator(a), None, 2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    assert {item["id"] for item in all_candidates(database, index, coordinator(a), limit=2)} == made
    for limit in (0, candidates.MAX_PAGE + 1, "10", True):
        with pytest.raises(ValidationFailed):
            candidates.matching_candidates(database, index, coordinator(a), None, limit)


def test_slot_names_are_the_inverse_of_the_mask():
    slots = ["mon_morning", "wed_evening", "sun_evening"]
    assert codes.slot_names(codes.slot_mask(slots)) == slots
    assert codes.slot_names(0) == [] and codes.slot_names(None) == []
