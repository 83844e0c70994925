"""The mentor search index without a database: filters, pooling, paging, and how changes apply.
Against FerretDB, across two instances: tests/service/test_mentor_search_index.py."""
import copy
import datetime
import random

import pytest

from coalition_common import codes
from coalition_common.errors import ValidationFailed
from coalition_common.ids import new_id, utcnow
from mentor_bank import cards, mentors, pool, search
from mentor_bank.schemas import PERSONAL_FIELDS, PooledMentorSchema

NOW = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=datetime.timezone.utc)
A, B, C = "a" * 32, "b" * 32, "c" * 32  # partners
COORDINATOR_A = {"partner_id": A, "roles": ["coordinator"]}
COORDINATOR_B = {"partner_id": B, "roles": ["coordinator"]}
COORDINATOR_C = {"partner_id": C, "roles": ["coordinator"]}
ADMIN = {"partner_id": None, "roles": ["coalition_admin"]}
OCCUPATIONS = ["2221", "2222", "2142", "2144", "2411", "2512", "3112", "3221", "5120"]
LANGUAGES = ["en", "fr", "es", "ar", "uk"]
REGIONS = ["CA-ON", "CA-QC", "CA-BC"]


def query(**filters):
    return dict({name: None for name in ("isco", "sector", "language", "min_level", "region", "mode", "available",
                                         "has_capacity", "eligible_now", "cursor")}, limit=50, **filters)


def a_card(mentor_id=None, **fields):
    card = {
        "id": mentor_id or new_id(), "partner_id": A, "version": 1, "status": "active", "scope": "own_partner",
        "occupations": ["2221"], "sectors": [], "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON",
        "modes": ["virtual"], "availability": codes.slot_mask(["mon_morning"]), "years_experience": 5, "capacity": 1,
        "holds": [], "check": "clear", "check_expires_at": None, "oriented": True,
    }
    card.update(fields)
    return card


def random_card(rnd, mentor_id):
    status = rnd.choice(["active", "active", "active", "applicant", "trained", "paused", "retired"])
    holds = []
    for _ in range(rnd.choice([0, 0, 0, 1, 2])):
        holds.append({"status": rnd.choice(["held", "confirmed"]),
                      "expires_at": NOW + datetime.timedelta(minutes=rnd.choice([-5, 5]))})
    return a_card(
        mentor_id, partner_id=rnd.choice([A, B, C]), status=status, scope=rnd.choice(["own_partner", "coalition"]),
        occupations=rnd.sample(OCCUPATIONS, rnd.randint(1, 2)), sectors=rnd.sample(["2", "22", "21", "3"], rnd.randint(0, 2)),
        languages=[{"code": code, "level": rnd.choice(codes.LANGUAGE_LEVELS)} for code in rnd.sample(LANGUAGES, rnd.randint(1, 3))],
        region=rnd.choice(REGIONS), modes=rnd.sample(codes.MODES, rnd.randint(1, 3)),
        availability=codes.slot_mask(rnd.sample(codes.SLOTS, rnd.randint(0, 6))), capacity=rnd.randint(1, 2), holds=holds,
        check=rnd.choice(["clear", "clear", "not_required", "failed", "pending", None]),
        check_expires_at=rnd.choice([None, NOW - datetime.timedelta(days=1), NOW + datetime.timedelta(days=1)]),
        oriented=rnd.random() < 0.8)


def expected(all_cards, q, caller, joined):
    """The search's meaning, card by card, as the issue states it."""
    def passes(card):
        if q["isco"] and not any(code.startswith(q["isco"]) for code in card["occupations"]):
            return False
        if q["sector"] and not any(code.startswith(q["sector"]) for code in card["sectors"]):
            return False
        if q["language"]:
            floor = codes.level_rank(q["min_level"] or "A1")
            if not any(s["code"] == q["language"] and codes.level_rank(s["level"]) >= floor for s in card["languages"]):
                return False
        if q["region"] and card["region"] != q["region"]:
            return False
        if q["mode"] and q["mode"] not in card["modes"]:
            return False
        if q["available"] and not card["availability"] & codes.slot_mask(q["available"]):
            return False
        if q["has_capacity"] is not None and (cards.places_left(card, NOW) > 0) != q["has_capacity"]:
            return False
        if q["eligible_now"] is not None and bool(cards.eligible_now(card, NOW)) != q["eligible_now"]:
            return False
        return pool.sees_card(caller, card, joined) is not None
    return sorted(card["id"] for card in all_cards if passes(card))


def random_query(rnd):
    q = query()
    if rnd.random() < 0.5:
        q["isco"] = rnd.choice(["2", "22", "221", "2221", "21", "3", "5120", "9"])
    if rnd.random() < 0.3:
        q["sector"] = rnd.choice(["2", "22", "21", "3", "4"])
    if rnd.random() < 0.5:
        q["language"] = rnd.choice(LANGUAGES + ["de"])
        q["min_level"] = rnd.choice([None, *codes.LANGUAGE_LEVELS])
    if rnd.random() < 0.4:
        q["region"] = rnd.choice(REGIONS)
    if rnd.random() < 0.3:
        q["mode"] = rnd.choice(codes.MODES)
    if rnd.random() < 0.3:
        q["available"] = rnd.sample(codes.SLOTS, rnd.randint(1, 3))
    q["has_capacity"] = rnd.choice([None, None, True, False])
    q["eligible_now"] = rnd.choice([None, None, True, False])
    return q


def ids(found):
    return [card["id"] for card, _ in found]


@pytest.fixture(scope="module")
def population():
    rnd = random.Random(7)
    return [random_card(rnd, f"{i:012x}{rnd.getrandbits(80):020x}") for i in range(600)]


@pytest.mark.parametrize("seed", range(40))
def test_every_filter_mix_finds_exactly_the_visible_mentors_that_pass_it(population, seed):
    rnd = random.Random(seed)
    catalogue = search.Catalogue.built(population)
    caller = rnd.choice([COORDINATOR_A, COORDINATOR_B, COORDINATOR_C, ADMIN])
    joined = set(rnd.sample([A, B, C], rnd.randint(0, 3)))
    for _ in range(10):
        q = random_query(rnd)
        assert ids(catalogue.matching(q, caller, joined, limit=10_000, now=NOW)) == expected(population, q, caller, joined), q


def test_the_postings_admit_exactly_whom_the_pooling_rule_admits(population):
    catalogue = search.Catalogue.built(population)
    for caller in (COORDINATOR_A, COORDINATOR_B, COORDINATOR_C, ADMIN):
        for joined in (set(), {A}, {A, B}, {A, B, C}, {B, C}):
            admitted = {catalogue.ids[p] for p in search._positions(catalogue.visible(caller, joined), 0)}
            assert admitted == {card["id"] for card in population if pool.sees_card(caller, card, joined)}


def test_isco_filter_is_a_prefix():
    nurse, engineer, driver = a_card(occupations=["2221"]), a_card(occupations=["2142"]), a_card(occupations=["8322"])
    catalogue = search.Catalogue.built([nurse, engineer, driver])

    def found(prefix):
        return set(ids(catalogue.matching(query(isco=prefix), COORDINATOR_A, set(), now=NOW)))

    assert found("2") == {nurse["id"], engineer["id"]}
    assert found("22") == {nurse["id"]}
    assert found("2221") == {nurse["id"]}
    assert found("2222") == set()
    assert found("8") == {driver["id"]}


def test_min_level_counts_native_highest_and_needs_the_same_language():
    native = a_card(languages=[{"code": "fr", "level": "native"}])
    b1 = a_card(languages=[{"code": "fr", "level": "B1"}, {"code": "en", "level": "C2"}])
    c2 = a_card(languages=[{"code": "fr", "level": "C2"}])
    catalogue = search.Catalogue.built([native, b1, c2])

    def found(**filters):
        return set(ids(catalogue.matching(query(**filters), COORDINATOR_A, set(), now=NOW)))

    assert found(language="fr", min_level="B2") == {native["id"], c2["id"]}
    assert found(language="fr", min_level="native") == {native["id"]}
    assert found(language="fr") == {native["id"], b1["id"], c2["id"]}
    assert found(language="en", min_level="C2") == {b1["id"]}


def test_availability_means_free_in_at_least_one_of_the_slots_asked():
    mornings = a_card(availability=codes.slot_mask(["mon_morning", "tue_morning"]))
    evenings = a_card(availability=codes.slot_mask(["mon_evening"]))
    never = a_card(availability=0)
    catalogue = search.Catalogue.built([mornings, evenings, never])

    def found(slots):
        return set(ids(catalogue.matching(query(available=slots), COORDINATOR_A, set(), now=NOW)))

    assert found(["tue_morning", "sun_evening"]) == {mornings["id"]}
    assert found(["mon_evening", "mon_morning"]) == {mornings["id"], evenings["id"]}
    assert found(["wed_afternoon"]) == set()


def test_capacity_and_eligibility_follow_the_clock():
    expired_hold = a_card(holds=[{"status": "held", "expires_at": NOW - datetime.timedelta(seconds=1)}])
    live_hold = a_card(holds=[{"status": "held", "expires_at": NOW + datetime.timedelta(minutes=5)}])
    confirmed = a_card(capacity=2, holds=[{"status": "confirmed", "expires_at": None}])
    check_ran_out = a_card(check_expires_at=NOW - datetime.timedelta(seconds=1))
    paused = a_card(status="paused")
    catalogue = search.Catalogue.built([expired_hold, live_hold, confirmed, check_ran_out, paused])

    def found(**filters):
        return set(ids(catalogue.matching(query(**filters), COORDINATOR_A, set(), now=NOW)))

    assert found(has_capacity=False) == {live_hold["id"]}
    assert live_hold["id"] not in found(has_capacity=True) and expired_hold["id"] in found(has_capacity=True)
    assert confirmed["id"] in found(has_capacity=True)  # one place of two taken
    assert found(eligible_now=False) == {check_ran_out["id"], paused["id"]}
    assert check_ran_out["id"] not in found(eligible_now=True)


def test_pooling_needs_consent_and_both_charters():
    shared = a_card(partner_id=A, scope="coalition")
    private = a_card(partner_id=A, scope="own_partner")
    catalogue = search.Catalogue.built([shared, private])

    def seen(caller, joined):
        return {card["id"]: how for card, how in catalogue.matching(query(), caller, joined, now=NOW)}

    assert seen(COORDINATOR_A, set()) == {shared["id"]: "own", private["id"]: "own"}
    assert seen(COORDINATOR_B, {A, B}) == {shared["id"]: "pooled"}
    assert seen(COORDINATOR_B, {A}) == {}  # B has not accepted the charter
    assert seen(COORDINATOR_B, {B}) == {}  # A has not
    assert seen(ADMIN, {A}) == {shared["id"]: "pooled"}  # the admin counts as joined, sees pooled cards only
    assert seen(ADMIN, set()) == {}


@pytest.mark.parametrize("limit", [7, 50])
def test_cursor_pages_cover_every_match_once_in_id_order(population, limit):
    database = FakeDatabase()
    database.mentor_changes.insert_many([{"_id": new_id(), "mentor_id": c["id"], "version": 1, "card": c, "at": utcnow()} for c in population])
    database.pool_partners.insert_many([{"_id": A}, {"_id": B}])
    index = search.Index()
    seen, cursor, pages = [], None, 0
    while True:
        page = search.search(database, index, COORDINATOR_B, {"isco": "2", "limit": limit, "cursor": cursor})
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    wanted = expected(population, query(isco="2"), COORDINATOR_B, {A, B})
    assert seen == wanted and len(set(seen)) == len(seen)
    assert pages == max(1, -(-len(wanted) // limit))


def test_mentors_added_between_pages_neither_skip_nor_repeat_the_ones_already_there():
    database = FakeDatabase()
    first = [a_card(f"{i:012x}{0:020x}") for i in range(0, 100, 2)]
    record_cards(database, first)
    index = search.Index()
    page = search.search(database, index, COORDINATOR_A, {"limit": 10})
    # New mentors land before and after the cursor, some out of id order.
    record_cards(database, [a_card(f"{i:012x}{0:020x}") for i in (99, 1, 51, 3, 97)])
    seen, cursor = [item["id"] for item in page["items"]], page["next_cursor"]
    while cursor:
        page = search.search(database, index, COORDINATOR_A, {"limit": 10, "cursor": cursor})
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert {c["id"] for c in first} <= set(seen)
    assert {f"{i:012x}{0:020x}" for i in (51, 97, 99)} <= set(seen)


def test_cards_put_one_by_one_in_any_order_index_like_cards_built_at_once(population):
    shuffled = list(population)
    random.Random(3).shuffle(shuffled)
    catalogue = search.Catalogue()
    for card in shuffled:
        catalogue.put(card)
    built = search.Catalogue.built(population)
    assert catalogue.ids == built.ids
    assert catalogue.postings == built.postings


def test_many_out_of_order_arrivals_rebuild_and_index_the_same(population):
    catalogue = search.Catalogue.built(population[::2])
    assert catalogue.put_all(population[1::2]) == len(population[1::2])  # more than MAX_SHIFTS land in between
    built = search.Catalogue.built(population)
    assert catalogue.ids == built.ids and catalogue.postings == built.postings


def test_a_change_older_than_the_card_held_is_ignored():
    catalogue = search.Catalogue()
    mentor = a_card(version=3, region="CA-QC")
    assert catalogue.put(mentor)
    assert not catalogue.put(dict(mentor, version=2, region="CA-ON"))
    assert not catalogue.put(dict(mentor, version=3, region="CA-ON"))
    assert ids(catalogue.matching(query(region="CA-ON"), COORDINATOR_A, set(), now=NOW)) == []
    assert catalogue.put(dict(mentor, version=4, region="CA-ON"))
    assert ids(catalogue.matching(query(region="CA-ON"), COORDINATOR_A, set(), now=NOW)) == [mentor["id"]]
    assert ids(catalogue.matching(query(region="CA-QC"), COORDINATOR_A, set(), now=NOW)) == []


def test_an_erased_mentor_leaves_every_answer_and_an_older_change_does_not_bring_them_back():
    mentor = a_card(version=2, scope="coalition")
    catalogue = search.Catalogue.built([mentor])
    catalogue.put(cards.card_of({"_id": mentor["id"], "partner_id": A, "version": 3, "status": "erased"}))
    catalogue.put(dict(mentor, version=2))
    for caller in (COORDINATOR_A, COORDINATOR_B, ADMIN):
        assert catalogue.matching(query(), caller, {A, B}, now=NOW) == []
    assert not any(bits & 1 for bits in catalogue.postings.values())  # position 0: the erased mentor


# The catch-up, with a database of a few lists.

class FakeCollection:
    def __init__(self):
        self.documents = []

    @staticmethod
    def _passes(document, condition):
        for name, test in (condition or {}).items():
            value = document.get(name)
            for operator, bound in test.items():
                if not {"$gte": value is not None and value >= bound, "$lt": value is not None and value < bound}[operator]:
                    return False
        return True

    def find(self, condition=None, projection=None, **kwargs):
        self.reads = getattr(self, "reads", 0) + 1
        return [copy.deepcopy(d) for d in self.documents if self._passes(d, condition)]

    def find_one(self, condition):
        return next((copy.deepcopy(d) for d in self.documents if d["_id"] == condition["_id"]), None)

    def update_one(self, condition, change, upsert=False):
        found = next((d for d in self.documents if d["_id"] == condition["_id"]), None)
        if found is None and upsert:
            found = {"_id": condition["_id"]}
            self.documents.append(found)
        if found is not None:
            found.update(change["$set"])

    def insert_many(self, documents, ordered=True):
        self.documents += [copy.deepcopy(d) for d in documents]

    def delete_many(self, condition):
        self.documents = [d for d in self.documents if not self._passes(d, condition)]


class FakeDatabase:
    def __init__(self):
        self.mentors, self.mentor_changes, self.pool_partners = FakeCollection(), FakeCollection(), FakeCollection()
        self.mentor_changes_head = FakeCollection()


def record_cards(database, changed, at=None):
    database.mentor_changes.insert_many(
        [{"_id": new_id(), "mentor_id": c["id"], "version": c["version"], "card": c, "at": at or utcnow()} for c in changed])
    cards.bump_head(database)


def stored_mentor(partner_id, **fields):
    document = mentors.new_document(partner_id, {
        "given_name": "Ada", "family_name": "Lovelace", "email": f"{new_id()}@mentor.example", "occupations": ["2221"],
        "years_experience": 4, "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON", "modes": ["virtual"],
        "availability": ["mon_morning"], "gender": "woman", "age_band": "30-39"})
    document.update(fields)
    return document


class Ticks:
    def __init__(self, step=0.001):
        self.now, self.step = 1000.0, step

    def __call__(self):
        self.now += self.step
        return self.now


class MentorsWrittenWhileRead(FakeCollection):
    """Mentors read one by one, with `writes[n]()` called before the n-th is handed out."""

    def __init__(self, writes):
        super().__init__()
        self.writes = writes

    def find(self, condition=None, projection=None, **kwargs):
        for number, document in enumerate(list(self.documents)):
            if number in self.writes:
                self.writes.pop(number)()
            yield copy.deepcopy(document)


def test_a_consent_withdrawn_on_another_instance_hides_the_mentor_from_the_next_search():
    database = FakeDatabase()
    database.pool_partners.insert_many([{"_id": A}, {"_id": B}])
    mentor = stored_mentor(A, sharing={"scope": "coalition"})
    database.mentors.insert_many([mentor])
    index = search.Index()
    assert [item["id"] for item in search.search(database, index, COORDINATOR_B, {})["items"]] == [mentor["_id"]]
    # Another instance writes the withdrawal and its change entry.
    withdrawn = dict(mentor, version=2, sharing={"scope": "own_partner"})
    database.mentors.documents = [withdrawn]
    cards.record(database, withdrawn)
    assert search.search(database, index, COORDINATOR_B, {})["items"] == []
    assert [item["id"] for item in search.search(database, index, COORDINATOR_A, {})["items"]] == [mentor["_id"]]


def test_searches_read_the_change_entries_only_after_a_write_finished():
    database = FakeDatabase()
    database.mentors.insert_many([stored_mentor(A)])
    index = search.Index()
    search.search(database, index, COORDINATOR_A, {})
    reads = database.mentor_changes.reads
    for _ in range(3):
        search.search(database, index, COORDINATOR_A, {})
    assert database.mentor_changes.reads == reads  # nothing written: one small read of the head each
    added = stored_mentor(A)
    cards.record(database, added)  # another instance's write: entry, then a new head
    assert added["_id"] in [item["id"] for item in search.search(database, index, COORDINATOR_A, {})["items"]]
    assert database.mentor_changes.reads == reads + 1


def test_a_partner_that_withdraws_from_the_charter_stops_seeing_the_pool():
    database = FakeDatabase()
    database.pool_partners.insert_many([{"_id": A}, {"_id": B}])
    database.mentors.insert_many([stored_mentor(A, sharing={"scope": "coalition"})])
    index = search.Index()
    assert len(search.search(database, index, COORDINATOR_B, {})["items"]) == 1
    database.pool_partners.documents = [{"_id": A}]
    assert search.search(database, index, COORDINATOR_B, {})["items"] == []


def test_the_index_holds_and_answers_nothing_personal():
    assert not {name.split(".")[0] for name in search.SOURCE_PROJECTION} & set(PERSONAL_FIELDS)
    database = FakeDatabase()
    database.mentors.insert_many([stored_mentor(A, sharing={"scope": "coalition"}, phone="+14165550100", employer="Lakeshore")])
    database.pool_partners.insert_many([{"_id": A}, {"_id": B}])
    index = search.Index()
    for caller in (COORDINATOR_A, COORDINATOR_B, ADMIN):
        [item] = search.search(database, index, caller, {})["items"]
        assert set(item) == set(PooledMentorSchema().fields)
        assert not set(item) & set(PERSONAL_FIELDS)
    held = index.catalogue.card(index.catalogue.ids[0])
    assert set(held) == set(search.CARD_FIELDS)


def test_changes_already_applied_or_read_again_in_the_overlap_change_nothing():
    database = FakeDatabase()
    mentor = a_card(version=1)
    record_cards(database, [mentor])
    index = search.Index()
    search.search(database, index, COORDINATOR_A, {})
    record_cards(database, [dict(mentor, version=3, region="CA-QC")])
    record_cards(database, [dict(mentor, version=2, region="CA-BC")])  # committed late, older
    assert [i["region"] for i in search.search(database, index, COORDINATOR_A, {})["items"]] == ["CA-QC"]
    assert [i["region"] for i in search.search(database, index, COORDINATOR_A, {})["items"]] == ["CA-QC"]


def test_an_instance_that_fell_behind_past_half_the_retention_reloads_everything():
    database = FakeDatabase()
    ticks = Ticks()
    index = search.Index(ticks=ticks)
    search.search(database, index, COORDINATOR_A, {})
    # Written while this instance was not catching up; its change entry already purged.
    database.mentors.insert_many([stored_mentor(A)])
    ticks.now += search.RETENTION.total_seconds() / 2 + 1
    assert len(search.search(database, index, COORDINATOR_A, {})["items"]) == 1


def test_old_change_entries_are_purged():
    database = FakeDatabase()
    long_ago = utcnow() - search.RETENTION - datetime.timedelta(seconds=1)
    record_cards(database, [a_card()], at=long_ago)
    record_cards(database, [a_card()])
    search.search(database, search.Index(), COORDINATOR_A, {})
    assert len(database.mentor_changes.documents) == 1


def test_the_safety_net_reload_finds_a_write_whose_change_entry_was_never_written():
    database = FakeDatabase()
    index = search.Index()
    search.search(database, index, COORDINATOR_A, {})
    database.mentors.insert_many([stored_mentor(A)])  # as if the writer crashed before cards.record
    assert search.search(database, index, COORDINATOR_A, {})["items"] == []
    index.reload(database)
    assert len(search.search(database, index, COORDINATOR_A, {})["items"]) == 1


@pytest.mark.parametrize("bad", [{"isco": "2x"}, {"min_level": "B2"}, {"language": "english"}, {"available": "mon_noon"},
                                 {"limit": 201}, {"cursor": "not-a-cursor"}, {"given_name": "Ada"}])
def test_the_service_checks_the_query_itself(bad):
    with pytest.raises(ValidationFailed):
        search.search(FakeDatabase(), search.Index(), COORDINATOR_A, bad)


def changed_while_loading(database):
    """A load of 2,000 mentors during which the first, already read, consents to coalition
    sharing, and the change entry is purged (by another instance) before the load ends."""
    everyone = [stored_mentor(A) for _ in range(2000)]
    first = everyone[0]
    database.mentors = MentorsWrittenWhileRead({
        10: lambda: cards.record(database, dict(first, version=2, sharing={"scope": "coalition"})),
        1900: lambda: database.mentor_changes.documents.clear()})
    database.mentors.documents = everyone
    database.pool_partners.insert_many([{"_id": A}, {"_id": B}])
    return first["_id"]


def test_a_change_read_during_the_first_load_survives_its_purge():
    database = FakeDatabase()
    index = search.Index(ticks=Ticks(step=3))  # time enough passes in the load to catch up in it
    consented = changed_while_loading(database)
    assert [item["id"] for item in search.search(database, index, COORDINATOR_B, {})["items"]] == [consented]


def test_a_change_read_during_a_background_reload_survives_its_purge():
    database = FakeDatabase()
    index = search.Index(ticks=Ticks(step=3))
    search.search(database, index, COORDINATOR_B, {})
    consented = changed_while_loading(database)
    index.reload(database)
    assert [item["id"] for item in search.search(database, index, COORDINATOR_B, {})["items"]] == [consented]


def test_every_worker_of_an_instance_gets_the_instance_s_one_index():
    provider = search.MentorIndex()
    assert provider.get_dependency(object()) is provider.get_dependency(object())
