"""Concurrent changes to one partner or programme, against the real database.

FerretDB 1.x does not apply a conditional update atomically, so these races were lost before
coalition_common.revisions decided them by a unique claim. Racers are made to read the document
before any of them writes (ReadTogether), so every repetition is a real race, not a hope of one.
"""
import datetime
import threading
from concurrent.futures import ThreadPoolExecutor

import pymongo
import pytest
from pymongo.collection import Collection

from coalition_common.errors import Conflict, NotFound
from coalition_common.ids import new_id, utcnow
from coalition_common.revisions import PreconditionFailed, claims_of
from registry import indexes, partners, programs

pytestmark = pytest.mark.service

REPETITIONS = 15
ADMIN = {"staff_id": "operator:test", "partner_id": None, "hub_id": None, "roles": ["coalition_admin"]}
DELETED = "deleted"


@pytest.fixture(scope="module")
def database(scratch_database):
    database = scratch_database("registry")
    indexes.prepare(database)
    return database


@pytest.fixture
def partner(database):
    """A partner of its own and its admin's identity."""
    created, _ = partners.register_partner(database, ADMIN, {"name": f"Partner {new_id()}", "kind": "ngo", "region": "CA-BC"})
    return created["id"], {"staff_id": new_id(), "partner_id": created["id"], "hub_id": None, "roles": ["partner_admin"]}


def new_program(database, identity, **fields):
    return programs.create_program(database, identity, {"name": "Cohort", "start_date": "2026-09-01", **fields})["id"]


class WatchedReads:
    """The database, except that every find_one on `collection` passes its answer through
    `read_once` before the caller sees it."""

    def __init__(self, database, collection):
        self._database = database
        self._collection = collection

    def __getitem__(self, name):
        return self._wrap(self._database[name])

    def __getattr__(self, name):
        return self._wrap(getattr(self._database, name))

    def _wrap(self, found):
        if isinstance(found, Collection) and found.name == self._collection:
            return _WaitingCollection(found, self)
        return found


class _WaitingCollection:
    def __init__(self, collection, together):
        self._collection = collection
        self._together = together

    def __getattr__(self, name):
        return getattr(self._collection, name)

    def find_one(self, *args, **kwargs):
        return self._together.read_once(self._collection.find_one(*args, **kwargs))


class ReadTogether(WatchedReads):
    """Each thread's first read of `collection` waits until every one of `racers` threads has
    read it: all racers decide on the same version before any writes."""

    def __init__(self, database, collection, racers):
        super().__init__(database, collection)
        self._barrier = threading.Barrier(racers, timeout=60)
        self._local = threading.local()

    def read_once(self, document):
        if not getattr(self._local, "read", False):
            self._local.read = True
            self._barrier.wait()
        return document


class Meanwhile(WatchedReads):
    """Right after the first read of `collection`, `change` runs: what another request could do
    between this one's read and its write."""

    def __init__(self, database, collection, change):
        super().__init__(database, collection)
        self._change = change

    def read_once(self, document):
        change, self._change = self._change, None
        if change is not None:
            change()
        return document


def race(*calls):
    """Run the calls at once; each one's result, or the exception it raised."""
    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result())
        except Exception as error:
            outcomes.append(error)
    return outcomes


def successes(outcomes):
    return [o for o in outcomes if not isinstance(o, Exception)]


def assert_conflicts(failures):
    for failure in failures:
        assert isinstance(failure, Conflict), repr(failure)
        assert "version" in failure.errors or "status" in failure.errors


def patch_min_and_max_at_once(database, identity, program_id):
    """Raise the minimum to 5 and lower the maximum to 3 at once, both read against the same
    version: one wins, the other is told to retry, and the stored range stays valid."""
    together = ReadTogether(database, "programs", 2)
    outcomes = race(
        lambda: programs.update_program(together, identity, program_id, {"group_size_min": 5}),
        lambda: programs.update_program(together, identity, program_id, {"group_size_max": 3}),
    )
    stored = database.programs.find_one({"_id": program_id})
    assert stored["group_size_min"] <= stored["group_size_max"]
    assert len(successes(outcomes)) == 1, outcomes
    assert_conflicts([o for o in outcomes if isinstance(o, Exception)])
    return stored


def test_two_concurrent_patches_never_leave_min_above_max(database, partner):
    _, identity = partner
    for _ in range(REPETITIONS):
        program_id = new_program(database, identity, group_size_min=3, group_size_max=5)
        stored = patch_min_and_max_at_once(database, identity, program_id)
        assert stored["version"] == 2


def test_of_three_concurrent_transitions_exactly_one_wins(database, partner):
    _, identity = partner
    for _ in range(REPETITIONS):
        program_id = new_program(database, identity)
        together = ReadTogether(database, "programs", 3)
        outcomes = race(*[lambda: programs.transition_program(together, identity, program_id, {"status": "recruiting"})] * 3)
        assert [o["status"] for o in successes(outcomes)] == ["recruiting"], outcomes
        assert_conflicts([o for o in outcomes if isinstance(o, Exception)])
        stored = database.programs.find_one({"_id": program_id})
        assert (stored["status"], stored["version"]) == ("recruiting", 2)


@pytest.mark.parametrize("read_together", [True, False], ids=["same-version", "free-timing"])
def test_a_transition_racing_a_delete_leaves_one_consistent_outcome(database, partner, read_together):
    _, identity = partner
    for _ in range(REPETITIONS):
        program_id = new_program(database, identity)
        racing = ReadTogether(database, "programs", 2) if read_together else database

        def delete():
            programs.delete_program(racing, identity, program_id)
            return DELETED

        outcomes = race(lambda: programs.transition_program(racing, identity, program_id, {"status": "recruiting"}), delete)
        moved, deleted = outcomes
        stored = database.programs.find_one({"_id": program_id})
        # Exactly one of them happened, and the loser says why: never a 500, never both 2xx.
        assert len(successes(outcomes)) == 1, outcomes
        if stored is None:
            assert deleted == DELETED
            assert isinstance(moved, (Conflict, NotFound)), repr(moved)
        else:
            assert moved["status"] == stored["status"] == "recruiting"
            assert isinstance(deleted, Conflict), repr(deleted)


def test_every_action_on_a_deleted_programme_answers_not_found(database, partner):
    _, identity = partner
    program_id = new_program(database, identity)
    programs.delete_program(database, identity, program_id)
    for action in (
        lambda: programs.transition_program(database, identity, program_id, {"status": "recruiting"}),
        lambda: programs.update_program(database, identity, program_id, {"group_size_min": 4}),
        lambda: programs.delete_program(database, identity, program_id),
        lambda: programs.get_program(database, identity, program_id),
    ):
        with pytest.raises(NotFound):
            action()
    assert claims_of(database.programs).count_documents({"document_id": program_id}) == 0


@pytest.mark.parametrize("action", [
    lambda database, identity, program_id: programs.transition_program(database, identity, program_id, {"status": "recruiting"}),
    lambda database, identity, program_id: programs.update_program(database, identity, program_id, {"group_size_min": 4}),
    lambda database, identity, program_id: programs.delete_program(database, identity, program_id),
], ids=["transition", "update", "delete"])
def test_a_programme_deleted_between_read_and_write_answers_not_found(database, partner, action):
    _, identity = partner
    program_id = new_program(database, identity)
    deleting = Meanwhile(database, "programs", lambda: programs.delete_program(database, identity, program_id))
    with pytest.raises(NotFound):
        action(deleting, identity, program_id)
    assert database.programs.find_one({"_id": program_id}) is None
    assert claims_of(database.programs).count_documents({"document_id": program_id}) == 0


def test_if_match_with_another_version_answers_412_and_changes_nothing(database, partner):
    partner_id, identity = partner
    program_id = new_program(database, identity)
    assert programs.update_program(database, identity, program_id, {"group_size_min": 4}, expected_version=1)["group_size_min"] == 4
    for stale in (1, 3, "2", True):
        with pytest.raises(PreconditionFailed) as failure:
            programs.update_program(database, identity, program_id, {"group_size_min": 2}, expected_version=stale)
        assert failure.value.status == 412 and "version" in failure.value.errors
    stored = database.programs.find_one({"_id": program_id})
    assert (stored["group_size_min"], stored["version"]) == (4, 2)

    assert partners.update_partner(database, identity, partner_id, {"sectors": ["21"]}, expected_version=1)["sectors"] == ["21"]
    with pytest.raises(PreconditionFailed):
        partners.update_partner(database, identity, partner_id, {"sectors": ["22"]}, expected_version=1)
    assert database.partners.find_one({"_id": partner_id})["sectors"] == ["21"]


def crashed_writers_claim(database, program_id, version, age_seconds):
    """The claim a writer leaves when it dies between claiming a version and writing it."""
    claims_of(database.programs).insert_one({
        "_id": f"{program_id}:{version}", "document_id": program_id, "version": version, "attempt": 0,
        "claimed_at": utcnow() - datetime.timedelta(seconds=age_seconds)})


def test_a_crashed_writers_stale_claim_is_taken_over(database, partner):
    _, identity = partner
    program_id = new_program(database, identity)
    crashed_writers_claim(database, program_id, 2, age_seconds=60)
    assert programs.update_program(database, identity, program_id, {"group_size_min": 4})["group_size_min"] == 4
    assert database.programs.find_one({"_id": program_id})["version"] == 2


def test_a_fresh_claim_is_respected(database, partner):
    _, identity = partner
    program_id = new_program(database, identity)
    crashed_writers_claim(database, program_id, 2, age_seconds=0)  # its writer may still be at work
    with pytest.raises(Conflict):
        programs.update_program(database, identity, program_id, {"group_size_min": 4})
    assert database.programs.find_one({"_id": program_id})["version"] == 1


def test_of_two_writers_taking_over_one_stale_claim_one_wins(database, partner):
    _, identity = partner
    for _ in range(REPETITIONS):
        program_id = new_program(database, identity)
        crashed_writers_claim(database, program_id, 2, age_seconds=60)
        patch_min_and_max_at_once(database, identity, program_id)


def test_a_document_keeps_at_most_a_claim_or_two(database, partner):
    _, identity = partner
    program_id = new_program(database, identity)
    for size in (4, 5, 4, 5):
        programs.update_program(database, identity, program_id, {"group_size_max": size})
    programs.transition_program(database, identity, program_id, {"status": "recruiting"})
    assert database.programs.find_one({"_id": program_id})["version"] == 6
    assert claims_of(database.programs).count_documents({"document_id": program_id}) <= 2


def test_partner_names_collide_whatever_their_case(database, partner):
    partner_id, identity = partner
    name = f"Harbour Works {new_id()}"
    partners.register_partner(database, ADMIN, {"name": name, "kind": "ngo", "region": "CA-BC"})
    with pytest.raises(Conflict) as failure:
        partners.register_partner(database, ADMIN, {"name": name.upper(), "kind": "employer", "region": "CA-BC"})
    assert "name" in failure.value.errors
    with pytest.raises(Conflict) as failure:
        partners.update_partner(database, identity, partner_id, {"name": name.lower()})
    assert "name" in failure.value.errors
    # The refused rename gave its claim back: the partner is not blocked.
    assert partners.update_partner(database, identity, partner_id, {"name": f"Quayside {new_id()}"})["name"].startswith("Quayside")


def test_of_three_concurrent_suspensions_exactly_one_wins(database):
    for _ in range(REPETITIONS):
        partner_id = partners.register_partner(database, ADMIN, {"name": f"P {new_id()}", "kind": "ngo", "region": "CA-BC"})[0]["id"]
        together = ReadTogether(database, "partners", 3)
        outcomes = race(*[lambda: partners.set_partner_status(together, ADMIN, partner_id, "suspended")] * 3)
        assert [o["status"] for o in successes(outcomes)] == ["suspended"], outcomes
        assert_conflicts([o for o in outcomes if isinstance(o, Exception)])
        assert database.partners.find_one({"_id": partner_id})["status"] == "suspended"


def test_of_two_concurrent_charter_acceptances_exactly_one_is_recorded(database):
    for _ in range(REPETITIONS):
        created, _ = partners.register_partner(database, ADMIN, {"name": f"C {new_id()}", "kind": "ngo", "region": "CA-BC"})
        identity = {"staff_id": new_id(), "partner_id": created["id"], "hub_id": None, "roles": ["partner_admin"]}
        together = ReadTogether(database, "partners", 2)
        outcomes = race(*[lambda: partners.accept_charter(together, identity, created["id"], {"version": "2026-1"})] * 2)
        assert len(successes(outcomes)) == 1, outcomes
        assert_conflicts([o for o in outcomes if isinstance(o, Exception)])
        stored = database.partners.find_one({"_id": created["id"]})
        assert [e["type"] for e in stored["outbox"]].count("charter.accepted") == 1


def test_prepare_migrates_documents_stored_before_versions_and_name_keys(scratch_database):
    database = scratch_database("registry")
    # As the previous release stored them: no version, no name_key, names unique as typed.
    database.partners.create_index([("name", pymongo.ASCENDING)], unique=True)
    old = {"kind": "ngo", "region": "CA-BC", "sectors": [], "hub_id": None, "status": "active", "charter": None,
           "created_at": utcnow(), "updated_at": utcnow(), "outbox": []}
    database.partners.insert_many([dict(old, _id="p1", name="Harbour"), dict(old, _id="p2", name="HARBOUR")])
    database.programs.insert_one({"_id": "g1", "partner_id": "p1", "name": "Cohort", "status": "draft", "start_date": "2026-09-01",
                                  "group_size_min": 3, "group_size_max": 5})
    indexes.prepare(database)
    indexes.prepare(database)  # every start runs it

    stored = {p["_id"]: p for p in database.partners.find({})}
    assert stored["p1"]["name_key"] == "harbour" and stored["p2"]["name_key"] != "harbour"
    assert {p["version"] for p in stored.values()} == {1}
    assert "name_1" not in database.partners.index_information()
    with pytest.raises(Conflict):
        partners.register_partner(database, ADMIN, {"name": "harbour", "kind": "ngo", "region": "CA-BC"})

    identity = {"staff_id": "s1", "partner_id": "p1", "hub_id": None, "roles": ["partner_admin"]}
    assert programs.update_program(database, identity, "g1", {"group_size_min": 4}, expected_version=1)["group_size_min"] == 4
    # One stored by a replica still on the previous release, after the migration ran: version 0.
    database.programs.insert_one(dict(database.programs.find_one({"_id": "g1"}), _id="g2", version=None))
    database.programs.update_one({"_id": "g2"}, {"$unset": {"version": ""}})
    programs.transition_program(database, identity, "g2", {"status": "recruiting"})
    assert database.programs.find_one({"_id": "g2"})["version"] == 1


def test_clearing_a_published_event_waits_for_a_versioned_change_in_progress(database, partner):
    """FerretDB writes back the whole document it read: an outbox $pull landing beside a versioned
    change could undo it. The pull holds the next version's claim, so the two never overlap."""
    from coalition_common import revisions
    from coalition_common.events import outbox_entry

    partner_id, _ = partner
    entry = outbox_entry("partner.registered", {"partner_id": partner_id})
    database.partners.update_one({"_id": partner_id}, {"$push": {"outbox": entry}})
    stored = database.partners.find_one({"_id": partner_id})
    writing = revisions._claim(database.partners, partner_id, revisions.version_of(stored), "partner")  # a writer mid-change
    revisions.pull_unversioned(database.partners, partner_id, entry)
    assert entry in database.partners.find_one({"_id": partner_id})["outbox"]  # left for the relay

    revisions._release(claims_of(database.partners), writing)
    revisions.pull_unversioned(database.partners, partner_id, entry)
    after = database.partners.find_one({"_id": partner_id})
    assert entry not in after["outbox"] and after["version"] == stored["version"]  # no new version
    # And while a pull holds the claim, a versioned writer is told to retry rather than overwritten.
    pulling = revisions._claim(database.partners, partner_id, after["version"], "partner")
    with pytest.raises(Conflict):
        partners.update_partner(database, ADMIN, partner_id, {"sectors": ["21"]})
    revisions._release(claims_of(database.partners), pulling)
    assert partners.update_partner(database, ADMIN, partner_id, {"sectors": ["21"]})["sectors"] == ["21"]
