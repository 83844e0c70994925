"""CSV imports and exports against the real database: all or nothing, idempotent, one worker per
job however many instances race for it, and a job whose worker died finished by another with
every row and every event once."""
import datetime
import threading
import uuid

import pytest

from coalition_common.errors import NotFound, ValidationFailed
from coalition_common.identity import operator
from mentor_bank import cards, csvcolumns, exports, imports, mentors

from profiles import mentor_csv

pytestmark = pytest.mark.service


@pytest.fixture
def database(scratch_database):
    """A database of the test's own: FerretDB reads every mentor for any query but by id, so
    other tests' mentors would only slow it down."""
    database = scratch_database("mentor_bank")
    mentors.prepare(database)
    return database


def new_partner():
    return uuid.uuid4().hex


def recruiter(partner_id):
    return operator("import-test", ("recruiter",), partner_id)


def mentor_row(n, tag, **cells):
    """Data row n of an invented file; every fourth mentor has no external id."""
    row = {
        "external_id": f"HR-{n}" if n % 4 else "", "given_name": f"Given{n}", "family_name": "Mentor",
        "email": f"m{n}.{tag}@example.org", "phone": f"+1416555{n:04d}", "employer": "Northwind Health",
        "occupations": ["2221", "2142", "2411"][n % 3], "years_experience": str(n % 40), "sectors": "22",
        "languages": "en:C1;fr:native" if n % 2 else "en:native", "region": "CA-ON", "city": "Toronto",
        "modes": "virtual;in_person", "availability": "tue_evening", "capacity": str(1 + n % 5),
        "gender": "", "age_band": "", "supports_communication_needs": "true" if n % 3 else "false", "alumni_mentee_id": "",
    }
    row.update(cells)
    return row


def mentor_file(count, tag, changed=None):
    """`changed`: {row number: {column: cell}}."""
    return mentor_csv(mentor_row(n, tag, **(changed or {}).get(n, {})) for n in range(1, count + 1))


class Recorded:
    """A dispatcher that keeps what it publishes."""

    def __init__(self):
        self.events = []

    def __call__(self, event_type, payload):
        self.events.append((event_type, payload))

    def mentor_ids(self, partner_id):
        """Mentors announced as registered for this partner (a tick also publishes what earlier tests left)."""
        return [payload["mentor_id"] for event_type, payload in self.events
                if event_type == "mentor.registered" and payload["partner_id"] == partner_id]


def stored(database, partner_id):
    return list(database.mentors.find({"partner_id": partner_id}, {"email_key": 1, "version": 1}))


def run_until_finished(database, import_id, dispatch, rounds=5):
    for _ in range(rounds):
        job = database.mentor_imports.find_one({"_id": import_id})
        if job["status"] in ("done", "failed"):
            return job
        imports.run_pending(database, dispatch)
    return database.mentor_imports.find_one({"_id": import_id})


def test_ten_thousand_rows_with_one_bad_cell_write_nothing_then_import_once_and_again_change_nothing(database):
    partner = new_partner()
    caller = recruiter(partner)
    dispatch = Recorded()

    faulty = mentor_file(10_000, partner, changed={7531: {"years_experience": "twelve"}})
    started = imports.start_import(database, caller, faulty)
    assert started["status"] == "checking" and started["rows_total"] == 10_000  # too large to run within the call
    run_until_finished(database, started["id"], dispatch)
    failed = imports.read_import(database, caller, started["id"])
    assert failed["status"] == "failed"
    assert failed["faults"] == [{"row": 7531, "column": "years_experience", "message": "Must be a whole number."}]
    assert failed["problem"]["status"] == 422
    assert failed["problem"]["errors"] == {"row 7531": {"years_experience": ["Must be a whole number."]}}
    assert failed["rows_checked"] == 10_000 and failed["rows_written"] == 0
    assert stored(database, partner) == [] and dispatch.mentor_ids(partner) == []
    assert database.mentor_import_files.find_one({"_id": started["id"]}) is None  # personal data gone with the job

    fixed = mentor_file(10_000, partner)
    started = imports.start_import(database, caller, fixed)
    run_until_finished(database, started["id"], dispatch)
    done = imports.read_import(database, caller, started["id"])
    assert (done["status"], done["rows_created"], done["rows_written"], done["faults"]) == ("done", 10_000, 10_000, [])
    mentors_now = stored(database, partner)
    assert len(mentors_now) == 10_000 == len({m["email_key"] for m in mentors_now})
    # Every new mentor announced once, and its card recorded for search.
    assert sorted(dispatch.mentor_ids(partner)) == sorted(m["_id"] for m in mentors_now)
    assert database.mentor_changes.count_documents({"card.partner_id": partner}) == 10_000
    assert database.mentor_import_events.count_documents({"import_id": started["id"]}) == 0
    assert database.mentor_import_files.find_one({"_id": started["id"]}) is None
    one = database.mentors.find_one({"email_key": f"{partner}:m7.{partner}@example.org"})
    assert one["outbox"] == [] and one["languages"] == [{"code": "en", "level": "C1"}, {"code": "fr", "level": "native"}]

    published = len(dispatch.mentor_ids(partner))
    again = imports.start_import(database, caller, fixed)
    run_until_finished(database, again["id"], dispatch)
    unchanged = imports.read_import(database, caller, again["id"])
    assert (unchanged["status"], unchanged["rows_unchanged"], unchanged["rows_written"]) == ("done", 10_000, 0)
    assert {m["version"] for m in stored(database, partner)} == {1}
    assert len(dispatch.mentor_ids(partner)) == published
    assert database.mentor_changes.count_documents({"card.partner_id": partner}) == 10_000

    edited = mentor_file(10_000, partner, changed={42: {"city": "Ottawa"}, 4: {"given_name": "Renamed"}})
    update = imports.start_import(database, caller, edited)
    run_until_finished(database, update["id"], dispatch)
    result = imports.read_import(database, caller, update["id"])
    assert (result["rows_updated"], result["rows_unchanged"], result["rows_created"]) == (2, 9_998, 0)
    assert database.mentors.find_one({"email_key": f"{partner}:m42.{partner}@example.org"})["city"] == "Ottawa"
    # Row 4 has no external id: it matched on email.
    assert database.mentors.find_one({"email_key": f"{partner}:m4.{partner}@example.org"})["given_name"] == "Renamed"
    versions = sorted(m["version"] for m in stored(database, partner))
    assert versions.count(2) == 2 and versions.count(1) == 9_998


def test_a_small_file_is_imported_within_the_call_and_its_events_go_out_on_the_next_tick(database):
    partner = new_partner()
    caller = recruiter(partner)
    done = imports.start_import(database, caller, mentor_file(3, partner))
    assert (done["status"], done["rows_created"]) == ("done", 3)
    assert len(stored(database, partner)) == 3
    dispatch = Recorded()
    imports.run_pending(database, dispatch)
    assert sorted(dispatch.mentor_ids(partner)) == sorted(m["_id"] for m in stored(database, partner))
    imports.run_pending(database, dispatch)
    assert len(dispatch.mentor_ids(partner)) == 3


def test_a_small_file_goes_to_the_background_when_the_bank_is_too_large_to_read_within_the_call(database, monkeypatch):
    partner = new_partner()
    imports.start_import(database, recruiter(partner), mentor_file(3, partner))
    monkeypatch.setattr(imports, "IMMEDIATE_BANK", 2)
    started = imports.start_import(database, recruiter(partner), mentor_file(4, partner))
    assert started["status"] == "checking"
    assert run_until_finished(database, started["id"], Recorded())["rows_created"] == 1


def test_a_small_file_with_faults_is_refused_at_once_listing_them_and_writes_nothing(database):
    partner = new_partner()
    text = mentor_file(5, partner, changed={2: {"email": "not-an-email"}, 5: {"email": f"m1.{partner}@example.org", "region": "ZZ"}})
    with pytest.raises(ValidationFailed) as refused:
        imports.start_import(database, recruiter(partner), text)
    assert refused.value.errors == {
        "row 2": {"email": ["Not a valid email address."]},
        "row 5": {"region": ["Not an ISO 3166-2 subdivision code."]},
    }
    assert "not-an-email" not in str(refused.value.errors)
    assert stored(database, partner) == []


def test_files_over_the_limits_are_refused_as_too_large(database, monkeypatch):
    caller = recruiter(new_partner())
    with pytest.raises(csvcolumns.TooLarge) as refused:
        imports.start_import(database, caller, "x" * (csvcolumns.MAX_BYTES + 1))
    assert refused.value.status == 413 and "file" in refused.value.errors
    monkeypatch.setattr(csvcolumns, "MAX_ROWS", 10)
    with pytest.raises(csvcolumns.TooLarge):
        imports.start_import(database, caller, mentor_file(11, "x"))
    assert imports.start_import(database, caller, mentor_file(10, "x"))["status"] == "done"


def test_another_partner_cannot_read_an_import_and_finished_ones_go_after_a_week(database):
    partner = new_partner()
    done = imports.start_import(database, recruiter(partner), mentor_file(1, partner))
    with pytest.raises(NotFound):
        imports.read_import(database, recruiter(new_partner()), done["id"])
    assert imports.read_import(database, recruiter(partner), done["id"])["status"] == "done"
    imports.run_pending(database, Recorded())
    assert imports.read_import(database, recruiter(partner), done["id"])["status"] == "done"
    week_ago = datetime.datetime.now(datetime.timezone.utc) - imports.KEEP_FINISHED - datetime.timedelta(minutes=1)
    database.mentor_imports.update_one({"_id": done["id"]}, {"$set": {"finished_at": week_ago}})
    imports.run_pending(database, Recorded())
    with pytest.raises(NotFound):
        imports.read_import(database, recruiter(partner), done["id"])


def test_of_many_instances_claiming_a_job_at_once_exactly_one_gets_it(database):
    import_id = uuid.uuid4().hex
    barrier = threading.Barrier(20)

    def claim(_):
        barrier.wait()
        return imports.Lease.take(database, import_id)

    threads = []
    leases = []
    for n in range(20):
        thread = threading.Thread(target=lambda n=n: leases.append(claim(n)))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    assert len([lease for lease in leases if lease is not None]) == 1


def test_a_worker_whose_lease_was_taken_over_stops(database):
    import_id = uuid.uuid4().hex
    first = imports.Lease.take(database, import_id)
    assert imports.Lease.take(database, import_id) is None  # alive: nobody else gets it
    first.renew()
    stale = datetime.datetime.now(datetime.timezone.utc) - imports.LEASE - datetime.timedelta(seconds=1)
    database.mentor_import_claims.update_one({"_id": first.claim_id}, {"$set": {"renewed_at": stale}})
    second = imports.Lease.take(database, import_id)
    assert second is not None and second.attempt == 1
    with pytest.raises(imports.LeaseLost):
        first.renew()


def test_two_instances_racing_for_one_job_write_and_announce_each_row_once(database, monkeypatch):
    partner = new_partner()
    started = imports.start_import(database, recruiter(partner), mentor_file(2_000, partner))
    barrier = threading.Barrier(2)
    dispatches = [Recorded(), Recorded()]
    check, runs = imports._check, []

    def counted_check(*args):
        runs.append(threading.get_ident())
        return check(*args)

    monkeypatch.setattr(imports, "_check", counted_check)

    def instance(dispatch):
        barrier.wait()
        imports.run_pending(database, dispatch)

    threads = [threading.Thread(target=instance, args=(dispatch,)) for dispatch in dispatches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    job = run_until_finished(database, started["id"], Recorded())
    assert (job["status"], job["rows_created"], job["rows_unchanged"]) == ("done", 2_000, 0)
    mentors_now = stored(database, partner)
    assert len(mentors_now) == 2_000 == len({m["email_key"] for m in mentors_now})
    announced = dispatches[0].mentor_ids(partner) + dispatches[1].mentor_ids(partner)
    assert sorted(announced) == sorted(m["_id"] for m in mentors_now)
    # One instance did the job; the other found it claimed (or done) and left it alone.
    assert len(runs) == 1
    assert sorted(len(dispatch.mentor_ids(partner)) for dispatch in dispatches) == [0, 2_000]


def test_a_job_whose_worker_died_is_taken_over_after_the_lease_and_finishes_with_every_row_and_event_once(database, monkeypatch):
    partner = new_partner()
    started = imports.start_import(database, recruiter(partner), mentor_file(2_000, partner))
    record = cards.record
    calls = []

    def dies_on_third_batch(database, *documents):
        calls.append(len(documents))
        if len(calls) == 3:  # the third batch's mentors are in; its cards and events are not
            raise ConnectionError("the instance died")
        record(database, *documents)

    first = Recorded()
    monkeypatch.setattr(cards, "record", dies_on_third_batch)
    imports.run_pending(database, first)
    monkeypatch.setattr(cards, "record", record)
    assert len(stored(database, partner)) == 1_500
    assert database.mentor_imports.find_one({"_id": started["id"]})["status"] == "writing"

    second = Recorded()
    imports.run_pending(database, second)  # the dead worker's lease has not run out: nobody takes over
    assert len(stored(database, partner)) == 1_500
    assert [c["attempt"] for c in database.mentor_import_claims.find({"import_id": started["id"]})] == [0]
    # (The batches it had finished are ready, and any instance publishes them meanwhile.)
    assert len(second.mentor_ids(partner)) == 1_000

    stale = datetime.datetime.now(datetime.timezone.utc) - imports.LEASE - datetime.timedelta(seconds=1)
    database.mentor_import_claims.update_many({"import_id": started["id"]}, {"$set": {"renewed_at": stale}})
    imports.run_pending(database, second)
    job = database.mentor_imports.find_one({"_id": started["id"]})
    assert (job["status"], job["rows_created"], job["rows_unchanged"]) == ("done", 2_000, 0)
    mentors_now = stored(database, partner)
    assert len(mentors_now) == 2_000 == len({m["email_key"] for m in mentors_now})
    ids = sorted(m["_id"] for m in mentors_now)
    assert sorted(set(first.mentor_ids(partner) + second.mentor_ids(partner))) == ids  # the dead worker's last batch too
    assert sorted(first.mentor_ids(partner) + second.mentor_ids(partner)) == ids       # and none twice
    assert set(database.mentor_changes.distinct("mentor_id", {"card.partner_id": partner})) == set(ids)
    assert database.mentor_import_events.count_documents({"import_id": started["id"]}) == 0
    assert database.mentor_import_claims.count_documents({"import_id": started["id"]}) == 0
    assert database.mentor_import_files.find_one({"_id": started["id"]}) is None


def test_the_sweep_publishes_what_a_dead_worker_left_for_mentors_that_exist_and_drops_the_rest_after_an_hour(database):
    partner = new_partner()
    imports.start_import(database, recruiter(partner), mentor_file(1, partner))
    imports.run_pending(database, Recorded())  # publishes the import's own events
    mentor_id = stored(database, partner)[0]["_id"]
    now = datetime.datetime.now(datetime.timezone.utc)
    event = {"event_id": uuid.uuid4().hex, "type": "mentor.registered", "payload": {"mentor_id": mentor_id, "partner_id": partner}}
    never = {"event_id": uuid.uuid4().hex, "type": "mentor.registered", "payload": {"mentor_id": uuid.uuid4().hex, "partner_id": partner}}
    # A batch whose worker died after inserting only one of its two mentors, three minutes ago.
    database.mentor_import_events.insert_one({"_id": "left", "import_id": "gone", "attempt": 0, "ready": False,
                                              "created_at": now - datetime.timedelta(minutes=3), "checked_at": None,
                                              "events": [event, never]})
    dispatch = Recorded()
    imports.run_pending(database, dispatch)
    assert dispatch.events == [("mentor.registered", dict(event["payload"], event_id=event["event_id"]))]
    assert database.mentor_import_events.find_one({"_id": "left"})["events"] == [never]
    imports.run_pending(database, dispatch)  # looked at a moment ago: not read again yet
    assert len(dispatch.events) == 1 and database.mentor_import_events.find_one({"_id": "left"})
    database.mentor_import_events.update_one({"_id": "left"}, {"$set": {"created_at": now - datetime.timedelta(hours=2),
                                                                       "checked_at": now - datetime.timedelta(minutes=10)}})
    imports.run_pending(database, dispatch)
    assert len(dispatch.events) == 1 and database.mentor_import_events.find_one({"_id": "left"}) is None


def test_the_export_lists_the_partners_own_live_mentors_with_formulas_neutralised(database):
    partner = new_partner()
    caller = recruiter(partner)
    text = mentor_file(3, partner, changed={2: {"employer": "=HYPERLINK(\"http://evil.example\")"}})
    imports.start_import(database, caller, text)
    imports.start_import(database, recruiter(new_partner()), mentor_file(2, "elsewhere"))
    erased = database.mentors.find_one({"email_key": f"{partner}:m3.{partner}@example.org"})
    mentors.erase_mentor(database, caller, erased["_id"])

    exported = exports.export_csv(database, caller)
    header, *rows = list(csvcolumns.records(exported))
    assert header == list(csvcolumns.NAMES)
    by_email = {row[header.index("email")]: dict(zip(header, row)) for row in rows}
    assert sorted(by_email) == [f"m1.{partner}@example.org", f"m2.{partner}@example.org"]
    assert by_email[f"m2.{partner}@example.org"]["employer"] == "'=HYPERLINK(\"http://evil.example\")"
    assert by_email[f"m1.{partner}@example.org"]["phone"] == "'+14165550001"
    assert by_email[f"m1.{partner}@example.org"]["languages"] == "en:C1;fr:native"
    # What was exported imports again as it is.
    again = imports.start_import(database, caller, exported)
    assert (again["rows_unchanged"], again["rows_written"]) == (2, 0)
