"""Mentor search against the real database, with two service instances' indexes on one database:
a write made anywhere is in the next search on any instance, and a consent withdrawn or a mentor
erased is gone from it, with no waiting."""
import uuid

import pytest

from coalition_common.identity import operator
from coalition_common.ids import new_id
from mentor_bank import mentors, pool, search
from mentor_bank.schemas import PERSONAL_FIELDS

pytestmark = pytest.mark.service

CONSENT = {"scope": "coalition", "consent_text_version": "2026-1", "consented_at": "2026-11-01T10:00:00+00:00"}
WITHDRAWAL = dict(CONSENT, scope="own_partner")


@pytest.fixture
def database(scratch_database):
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    return database


@pytest.fixture
def partners(database):
    """A and B accepted the charter; C did not."""
    a, b, c = (new_id() for _ in range(3))
    for joined in (a, b):
        pool.join(database, {"partner_id": joined, "version": "2026-1"})
    return a, b, c


def recruiter(partner_id):
    return operator("search-test", ("recruiter",), partner_id)


def coordinator(partner_id):
    return operator("search-test", ("coordinator",), partner_id)


def register(database, partner_id, **fields):
    payload = {
        "given_name": "Grace", "family_name": "Hopper", "email": f"{uuid.uuid4().hex[:10]}@mentor.example",
        "occupations": ["2221"], "years_experience": 12, "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON",
        "modes": ["virtual"], "availability": ["mon_morning"], "gender": "woman", "phone": "+14165550100", **fields}
    mentor, _ = mentors.register_mentor(database, recruiter(partner_id), payload)
    return mentor


def found(database, index, partner_id, **filters):
    page = search.search(database, index, coordinator(partner_id), filters)
    return {item["id"]: item for item in page["items"]}


def test_a_write_through_either_instance_is_in_the_next_search_on_the_other(database, partners):
    a, _, _ = partners
    first, second = search.Index(), search.Index()
    # Both loaded before the writes, so only the catch-up can bring them.
    assert found(database, first, a) == {} and found(database, second, a) == {}

    mentor = register(database, a)
    assert set(found(database, second, a)) == {mentor["id"]}
    mentors.update_mentor(database, recruiter(a), mentor["id"], {"region": "CA-QC", "occupations": ["2142"]})
    assert set(found(database, second, a, region="CA-QC", isco="21")) == {mentor["id"]}
    assert found(database, first, a, region="CA-ON") == {}


def test_consent_given_and_withdrawn_shows_and_hides_the_mentor_for_another_partner_at_once(database, partners):
    a, b, _ = partners
    first, second = search.Index(), search.Index()
    mentor = register(database, a)
    assert found(database, second, b) == {}  # shared with its own partner only

    mentors.change_sharing(database, recruiter(a), mentor["id"], CONSENT)
    pooled = found(database, second, b)
    assert set(pooled) == {mentor["id"]} and pooled[mentor["id"]]["own"] is False
    assert found(database, first, a)[mentor["id"]]["own"] is True

    mentors.change_sharing(database, recruiter(a), mentor["id"], WITHDRAWAL)
    assert found(database, second, b) == {}
    assert found(database, first, b) == {}
    assert set(found(database, second, a)) == {mentor["id"]}


def test_a_partner_sees_the_pool_only_after_accepting_the_charter(database, partners):
    a, _, c = partners
    index = search.Index()
    mentor = register(database, a)
    mentors.change_sharing(database, recruiter(a), mentor["id"], CONSENT)
    assert found(database, index, c) == {}
    pool.join(database, {"partner_id": c, "version": "2026-1"})
    assert set(found(database, index, c)) == {mentor["id"]}


def test_an_erased_mentor_is_gone_from_every_instance(database, partners):
    a, b, _ = partners
    first, second = search.Index(), search.Index()
    mentor = register(database, a)
    mentors.change_sharing(database, recruiter(a), mentor["id"], CONSENT)
    assert mentor["id"] in found(database, first, b)
    mentors.erase_mentor(database, recruiter(a), mentor["id"])
    assert found(database, first, b) == {} and found(database, second, a) == {}
    assert found(database, search.Index(), a) == {}  # nor in a fresh load


def test_a_fresh_load_answers_as_the_caught_up_index_and_returns_nothing_personal(database, partners):
    a, b, _ = partners
    caught_up = search.Index()
    found(database, caught_up, a)
    made = [register(database, a, languages=[{"code": "fr", "level": level}], capacity=2) for level in ("B1", "C2", "native")]
    for mentor in made:
        mentors.change_sharing(database, recruiter(a), mentor["id"], CONSENT)
    loaded = search.Index()
    for index in (caught_up, loaded):
        answer = found(database, index, b, language="fr", min_level="C2", has_capacity=True)
        assert set(answer) == {made[1]["id"], made[2]["id"]}
        for item in answer.values():
            assert not set(item) & set(PERSONAL_FIELDS)
            assert item["places_left"] == 2 and item["capacity"] == 2
    # Nothing personal is held in memory either, though the documents have it.
    held = loaded.catalogue.card(made[0]["id"])
    assert "gender" not in held and "given_name" not in held


def test_pages_follow_the_cursor_without_skips_or_repeats(database, partners):
    a, _, _ = partners
    made = {register(database, a)["id"] for _ in range(7)}
    index = search.Index()
    seen, cursor = [], None
    while True:
        page = search.search(database, index, coordinator(a), {"limit": 3, "cursor": cursor})
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(made)
