"""Mentee intake against the real database: consent required, the owning partner only, status
moved by actions only, versions, erasure, the all-or-nothing import (crash-safe retries), the
status moves runs and review use, and events without personal data."""
import json

import pytest

from coalition_common.csvtable import TooLarge
from coalition_common.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from coalition_common.identity import operator
from matching import mentee_imports, mentees

from profiles import mentee_csv, mentee_profile, mentee_row

pytestmark = pytest.mark.service

PARTNER, OTHER = "a" * 32, "b" * 32
COORDINATOR = operator("intake-test", ("coordinator",), PARTNER)
OTHER_COORDINATOR = operator("intake-test", ("coordinator",), OTHER)
PROGRAM = {"id": "c" * 32, "partner_id": PARTNER, "status": "recruiting"}
PERSONAL = ("Zainab", "Qureshi", "+15550001111", "Regina")


@pytest.fixture(scope="module")
def database(scratch_database):
    database = scratch_database("matching")
    mentees.prepare(database)
    return database


def create(database, caller=COORDINATOR, **overrides):
    return mentees.create_mentee(database, caller, mentee_profile(**overrides))[0]


def test_intake_without_consent_is_refused_naming_the_field(database):
    profile = mentee_profile()
    del profile["consent"]
    for payload in (profile, dict(profile, consent=None), dict(profile, consent={"version": "2026-1"}),
                    dict(profile, consent={"version": "2026-1", "given_at": "2099-01-01T00:00:00+00:00"})):
        with pytest.raises(ValidationFailed) as refused:
            mentees.create_mentee(database, COORDINATOR, payload)
        assert "consent" in refused.value.errors
    assert database.mentees.count_documents({}) == 0


def test_server_set_fields_are_refused_and_status_moves_by_actions_only(database):
    for field, value in (("status", "matched"), ("program_id", "c" * 32), ("admitted_at", "2026-01-01T00:00:00+00:00"),
                         ("partner_id", OTHER), ("version", 7), ("goals", ["find a job"]), ("occupation", "21")):
        with pytest.raises(ValidationFailed) as refused:
            mentees.create_mentee(database, COORDINATOR, mentee_profile(**{field: value}))
        assert field in refused.value.errors
    mentee = create(database)
    assert mentee["status"] == "waiting" and mentee["program_id"] is None and mentee["version"] == 1
    for field, value in (("status", "matched"), ("admitted_at", "2026-01-01T00:00:00+00:00"), ("program_id", "c" * 32),
                         ("given_name", None), ("consent", None)):
        with pytest.raises(ValidationFailed) as refused:
            mentees.update_mentee(database, COORDINATOR, mentee["id"], {field: value})
        assert field in refused.value.errors
    assert database.mentees.find_one({"_id": mentee["id"]})["version"] == 1


def test_only_the_owning_partner_reads_or_changes_a_mentee(database):
    mentee = create(database)
    for action in (lambda: mentees.read_mentee(database, OTHER_COORDINATOR, mentee["id"]),
                   lambda: mentees.update_mentee(database, OTHER_COORDINATOR, mentee["id"], {"city": "Ottawa"}),
                   lambda: mentees.admit_mentee(database, OTHER_COORDINATOR, mentee["id"], {}),
                   lambda: mentees.withdraw_mentee(database, OTHER_COORDINATOR, mentee["id"], {"reason": "other"}),
                   lambda: mentees.enrol_mentee(database, OTHER_COORDINATOR, mentee["id"], dict(PROGRAM, partner_id=OTHER)),
                   lambda: mentees.erase_mentee(database, OTHER_COORDINATOR, mentee["id"])):
        with pytest.raises(NotFound):
            action()
    listed = mentees.list_mentees(database, OTHER_COORDINATOR, {"limit": 200})["items"]
    assert mentee["id"] not in {item["id"] for item in listed}
    assert mentees.read_mentee(database, COORDINATOR, mentee["id"])["given_name"] == "Olena"


def test_enrolment_only_in_an_open_programme_of_the_callers_partner(database):
    mentee = create(database)
    with pytest.raises(NotFound):
        mentees.enrol_mentee(database, COORDINATOR, mentee["id"], dict(PROGRAM, partner_id=OTHER))
    with pytest.raises(Conflict):
        mentees.enrol_mentee(database, COORDINATOR, mentee["id"], dict(PROGRAM, status="closed"))
    enrolled, events = mentees.enrol_mentee(database, COORDINATOR, mentee["id"], PROGRAM)
    assert enrolled["program_id"] == PROGRAM["id"] and [e["type"] for e in events] == ["mentee.enrolled"]
    assert mentees.enrol_mentee(database, COORDINATOR, mentee["id"], PROGRAM)[1] == []  # once


def test_admission_withdrawal_and_versions(database):
    mentee = create(database, applied_at="2026-08-01T09:00:00+00:00")
    with pytest.raises(ValidationFailed) as refused:
        mentees.admit_mentee(database, COORDINATOR, mentee["id"], {"admitted_at": "2026-07-01T09:00:00+00:00"})
    assert "admitted_at" in refused.value.errors
    admitted, events = mentees.admit_mentee(database, COORDINATOR, mentee["id"], {"admitted_at": "2026-08-11T09:00:00+00:00"})
    assert admitted["admitted_at"].startswith("2026-08-11") and events[0]["payload"]["days_to_admission"] == 10
    with pytest.raises(Conflict):
        mentees.admit_mentee(database, COORDINATOR, mentee["id"], {})
    changed, _ = mentees.update_mentee(database, COORDINATOR, mentee["id"], {"city": "Ottawa"}, expected_version=admitted["version"])
    assert changed["version"] == admitted["version"] + 1
    with pytest.raises(PreconditionFailed):
        mentees.update_mentee(database, COORDINATOR, mentee["id"], {"city": "Kingston"}, expected_version=admitted["version"])
    withdrawn, events = mentees.withdraw_mentee(database, COORDINATOR, mentee["id"], {"reason": "found_work"})
    assert withdrawn["status"] == "withdrawn" and events[0]["payload"]["reason"] == "found_work"
    for action in (lambda: mentees.update_mentee(database, COORDINATOR, mentee["id"], {"city": "Ottawa"}),
                   lambda: mentees.withdraw_mentee(database, COORDINATOR, mentee["id"], {"reason": "other"})):
        with pytest.raises(Conflict):
            action()


def test_list_filters_and_pages(database):
    made = [create(database, target_occupation="2221", region="CA-NS") for _ in range(3)]
    create(database, target_occupation="3221", region="CA-NS")
    mentees.enrol_mentee(database, COORDINATOR, made[0]["id"], PROGRAM)
    query = {"target_occupation": "22", "region": "CA-NS"}
    assert [m["id"] for m in mentees.list_mentees(database, COORDINATOR, query)["items"]] == [m["id"] for m in made]
    assert [m["id"] for m in mentees.list_mentees(database, COORDINATOR, dict(query, program_id=PROGRAM["id"]))["items"]] == [made[0]["id"]]
    first = mentees.list_mentees(database, COORDINATOR, dict(query, limit=2))
    second = mentees.list_mentees(database, COORDINATOR, dict(query, limit=2, cursor=first["next_cursor"]))
    assert [m["id"] for m in first["items"] + second["items"]] == [m["id"] for m in made] and second["next_cursor"] is None
    with pytest.raises(ValidationFailed) as refused:
        mentees.list_mentees(database, COORDINATOR, {"status": "erased"})
    assert "status" in refused.value.errors


def test_erasure_leaves_a_tombstone_and_frees_the_email(database):
    mentee = create(database, given_name="Zainab", family_name="Qureshi", phone="+15550001111", city="Regina")
    mentees.enrol_mentee(database, COORDINATOR, mentee["id"], PROGRAM)
    mentees.move_status(database, mentee["id"], ("waiting",), "proposed", group_id="run1-0001")
    erased, events = mentees.erase_mentee(database, COORDINATOR, mentee["id"])
    assert erased == {"id": mentee["id"], "erased": True, "left_group_id": "run1-0001"}
    stored = database.mentees.find_one({"_id": mentee["id"]})
    assert stored["status"] == "erased" and stored["partner_id"] == PARTNER and stored["program_id"] == PROGRAM["id"]
    assert not any(value in json.dumps(stored, default=str) for value in PERSONAL + (mentee["email"],))
    assert [e["type"] for e in events] == ["mentee.erased"] and events[0]["payload"]["from_status"] == "proposed"
    with pytest.raises(NotFound):
        mentees.read_mentee(database, COORDINATOR, mentee["id"])
    assert mentees.move_status(database, mentee["id"], ("proposed",), "matched") is None
    create(database, email=mentee["email"])  # the address may be taken in again


def test_events_carry_ids_and_codes_only(database):
    mentee = create(database, given_name="Zainab", family_name="Qureshi", phone="+15550001111", city="Regina")
    events = mentees.enrol_mentee(database, COORDINATOR, mentee["id"], PROGRAM)[1]
    events += mentees.admit_mentee(database, COORDINATOR, mentee["id"], {})[1]
    events += mentees.withdraw_mentee(database, COORDINATOR, mentee["id"], {"reason": "moved_away"})[1]
    events += mentees.erase_mentee(database, COORDINATOR, mentee["id"])[1]
    assert [e["type"] for e in events] == ["mentee.enrolled", "mentee.admitted", "mentee.withdrawn", "mentee.erased"]
    for event in events:
        text = json.dumps(event["payload"])
        assert not any(value in text for value in PERSONAL + (mentee["email"],))
        assert event["payload"]["mentee_id"] == mentee["id"] and event["payload"]["partner_id"] == PARTNER


def test_the_same_email_twice_in_one_partner_is_refused(database):
    first = create(database, email="Same.Person@mentee.example")
    with pytest.raises(Conflict) as refused:
        create(database, email="same.person@MENTEE.example")
    assert "email" in refused.value.errors
    create(database, caller=OTHER_COORDINATOR, email="same.person@mentee.example")  # another partner may know them
    assert first["email"] == "same.person@mentee.example"


def test_move_status_and_waiting_of_for_runs_and_review(database):
    program = dict(PROGRAM, id="d" * 32)
    waiting = [create(database, given_name="Zainab", city="Regina") for _ in range(3)]
    for mentee in waiting:
        mentees.enrol_mentee(database, COORDINATOR, mentee["id"], program)
    instance = mentees.waiting_of(database, PARTNER, program["id"])
    assert [item["id"] for item in instance] == [m["id"] for m in waiting]
    assert all(item["waiting_days"] >= 0 and "email" not in item and "given_name" not in item and "city" not in item for item in instance)
    assert "Zainab" not in json.dumps(instance)
    assert mentees.waiting_of(database, OTHER, program["id"]) == []
    moved = mentees.move_status(database, waiting[0]["id"], ("waiting",), "proposed", group_id="run2-0001")
    assert moved["status"] == "proposed" and moved["group_id"] == "run2-0001"
    assert mentees.move_status(database, waiting[0]["id"], ("waiting",), "proposed") is None  # not waiting any more
    mentees.withdraw_mentee(database, COORDINATOR, waiting[1]["id"], {"reason": "other"})
    assert mentees.move_status(database, waiting[1]["id"], ("waiting",), "proposed") is None
    assert [item["id"] for item in mentees.waiting_of(database, PARTNER, program["id"])] == [waiting[2]["id"]]
    # A run's move names its programme: a mentee re-enrolled elsewhere meanwhile is not proposed into it.
    assert mentees.move_status(database, waiting[2]["id"], ("waiting",), "proposed", group_id="run3-0001", program_id="f" * 32) is None
    assert database.mentees.find_one({"_id": waiting[2]["id"]})["status"] == "waiting"
    moved = mentees.move_status(database, waiting[2]["id"], ("waiting",), "proposed", group_id="run3-0001", program_id=program["id"])
    assert moved["status"] == "proposed"


# --- import ------------------------------------------------------------------------------------

IMPORTER = operator("intake-test", ("coordinator",), "e" * 32)


def visible(database):
    return {m["email"] for m in mentees.list_mentees(database, IMPORTER, {"limit": 200})["items"]}


def test_an_import_with_any_bad_row_writes_nothing_and_lists_every_fault(database):
    rows = [mentee_row(), mentee_row(consent_version=""), mentee_row(languages="uk:Z9"), mentee_row(goals="find a job")]
    rows.append(dict(mentee_row(), email=rows[0]["email"].upper()))  # repeats row 1
    with pytest.raises(ValidationFailed) as refused:
        mentee_imports.import_mentees(database, IMPORTER, mentee_csv(rows))
    errors = refused.value.errors
    assert set(errors) == {"row 2", "row 3", "row 4", "row 5"}
    assert "consent_version" in errors["row 2"] and "languages" in errors["row 3"] and "goals" in errors["row 4"]
    assert "email" in errors["row 5"]
    assert rows[0]["email"] not in json.dumps(errors)  # messages never quote a cell
    assert visible(database) == set() and database.mentee_imports.count_documents({"partner_id": IMPORTER["partner_id"]}) == 0


def test_an_import_clashing_with_a_stored_mentee_is_refused(database):
    stored = create(database, caller=IMPORTER)
    with pytest.raises(ValidationFailed) as refused:
        mentee_imports.import_mentees(database, IMPORTER, mentee_csv([mentee_row(), mentee_row(email=stored["email"])]))
    assert "email" in refused.value.errors["row 2"]
    assert visible(database) == {stored["email"]}


def test_size_limits_answer_413(database, monkeypatch):
    monkeypatch.setattr(mentee_imports, "MAX_ROWS", 2)
    with pytest.raises(TooLarge):
        mentee_imports.import_mentees(database, IMPORTER, mentee_csv([mentee_row() for _ in range(3)]))
    monkeypatch.setattr(mentee_imports, "MAX_BYTES", 100)
    with pytest.raises(TooLarge):
        mentee_imports.import_mentees(database, IMPORTER, mentee_csv([mentee_row()]))


def test_a_crash_mid_import_shows_nothing_and_a_retry_finishes_without_duplicates(database, monkeypatch):
    caller = operator("intake-test", ("coordinator",), "f" * 32)
    rows = [mentee_row() for _ in range(5)]
    text = mentee_csv(rows)
    real_insert = mentee_imports._insert

    def crash_after_three(database_, import_id, documents):
        real_insert(database_, import_id, documents[:3])
        raise RuntimeError("the process died")

    monkeypatch.setattr(mentee_imports, "_insert", crash_after_three)
    with pytest.raises(RuntimeError):
        mentee_imports.import_mentees(database, caller, text)
    # Three rows are stored, but hidden: the file is not half-imported for anyone reading.
    assert mentees.list_mentees(database, caller, {"limit": 200})["items"] == []
    assert database.mentees.count_documents({"partner_id": caller["partner_id"]}) == 3
    monkeypatch.setattr(mentee_imports, "_insert", real_insert)
    job = mentee_imports.import_mentees(database, caller, text)
    assert job["status"] == "done" and job["rows_created"] == 5
    listed = mentees.list_mentees(database, caller, {"limit": 200})["items"]
    assert sorted(m["email"] for m in listed) == sorted(row["email"] for row in rows)
    assert database.mentees.count_documents({"partner_id": caller["partner_id"]}) == 5
    # The same file again writes nothing and answers the same import.
    assert mentee_imports.import_mentees(database, caller, text) == job
    assert database.mentees.count_documents({"partner_id": caller["partner_id"]}) == 5
    assert mentee_imports.read_import(database, caller, job["id"]) == job
    with pytest.raises(NotFound):
        mentee_imports.read_import(database, IMPORTER, job["id"])


def test_an_abandoned_import_is_taken_back(database, monkeypatch):
    import datetime

    caller = operator("intake-test", ("coordinator",), "9" * 32)
    real_insert = mentee_imports._insert

    def crash(database_, import_id, documents):
        real_insert(database_, import_id, documents)
        raise RuntimeError("the process died")

    monkeypatch.setattr(mentee_imports, "_insert", crash)
    with pytest.raises(RuntimeError):
        mentee_imports.import_mentees(database, caller, mentee_csv([mentee_row(), mentee_row()]))
    mentee_imports.sweep_abandoned(database, now=datetime.datetime.now(datetime.timezone.utc) + mentee_imports.ABANDONED_AFTER * 2)
    assert database.mentees.count_documents({"partner_id": caller["partner_id"]}) == 0
    assert database.mentee_imports.count_documents({"partner_id": caller["partner_id"]}) == 0
