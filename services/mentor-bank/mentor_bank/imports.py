"""Bulk import of mentors from a CSV file (columns: csvcolumns.py), for corporate partners'
recruiters.

All or nothing: every row is checked first (each with MentorSchema, the one definition, then for
repeats within the file and clashes with the partner's stored mentors); on any fault nothing is
written, and the job lists every fault as {row, column, message}. Rows are data rows counted from
1, the header being row 0 (a spreadsheet that shows the header on line 1 shows data row n on line
n + 1). Messages never quote a cell: they are personal data.

Idempotent on (partner, external id, else email): the partner's stored mentors are read once, each
row is matched to one, and only what differs is written. New mentors are inserted in batches,
changed ones get one versioned update each, unchanged ones are not touched. Uploading the same
file again writes nothing.

A job lives in `mentor_imports` (no personal data) and its file in `mentor_import_files`, which
is deleted as soon as the job ends. A file of at most csvcolumns.IMMEDIATE_ROWS rows is imported
within the call that uploads it, while the bank holds at most IMMEDIATE_BANK mentors (FerretDB
reads them all for an import: about 0.7 ms each here, so a 100,000-mentor bank would outlast the
gateway's wait). Other files are imported by `run_pending`, the service's one-second timer, on
whichever instance claims them first:

- Claims are unique inserts into `mentor_import_claims` (`<import id>:<attempt>`), which both
  MongoDB and FerretDB refuse atomically when taken; FerretDB 1.x applies conditional updates
  non-atomically, so a "status: pending -> running" update could be won twice. The holder renews
  its claim as it goes; a claim not renewed for LEASE belongs to a worker that died, and the next
  attempt is claimed by another unique insert, so of two instances taking over only one wins. A
  holder that finds a later attempt claimed stops (LeaseLost). A job is re-run from its file
  from the start; that is safe because writing is idempotent (a unique index refuses a second
  insert of a mentor, and a written row reads back as unchanged), and rows a crashed attempt wrote
  still count as written by this job (a mentor's `import_id` names the import that last wrote it;
  not shown, and emptied on erasure like every other field).

Events (mentor.registered, with no personal data). A mentor document's own outbox would need one
update per mentor to clear after publishing, and FerretDB takes about 0.1 s (10,000 mentors) to
1 s (100,000) for each update: 10,000 mentors would take from 20 minutes. So an import keeps its
events in an outbox of its own, `mentor_import_events`, one document per batch, inserted BEFORE
the batch's mentors and marked ready once they are in (with the events of those actually
inserted). Ready batches are published once the job is done, by the worker that ran it or by any
instance's timer, each batch under a claim of its own, then deleted: a confirmed publish costs
2 to 4 ms here, 20 to 40 s for 10,000 mentors, which would make the import several times
slower, while the mentors and their events are stored meanwhile. A crash leaves a batch unready; a later attempt, or the sweep in `run_pending` once it
is older than 2 x LEASE, publishes the events whose mentors exist and drops the rest (mentors
never inserted) after ABANDONED_AFTER. Consumers apply each event id once, so an event published
twice is harmless.
"""
import csv
import datetime
import logging
import time
from dataclasses import dataclass

from marshmallow import ValidationError
from pymongo.errors import BulkWriteError, PyMongoError

from coalition_common import leases
from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.events import publish_outbox
from coalition_common.ids import as_stored, aware, new_id, utcnow
from coalition_common.mongo import is_duplicate_key
from coalition_common.revisions import update_versioned, version_of
from mentor_bank import cards, csvcolumns, mentors
from mentor_bank.schemas import MentorSchema

log = logging.getLogger(__name__)

CHECKING, WRITING, DONE, FAILED = "checking", "writing", "done", "failed"
RUNNING = (CHECKING, WRITING)
CHUNK = 500
UPDATE_BATCH = 50
PROGRESS_EVERY = 1000
# Let the service's other green threads (RPC, heartbeats) run during long CPU-bound loops.
YIELD_EVERY = 200
LEASE = datetime.timedelta(seconds=60)
MAX_ATTEMPTS = 5
IMMEDIATE_BANK = 20_000
# Finished jobs are kept this long for GET, then deleted: every timer tick reads the jobs.
KEEP_FINISHED = datetime.timedelta(days=7)
ABANDONED_AFTER = datetime.timedelta(hours=1)
RECHECK_ABANDONED = datetime.timedelta(minutes=5)
GAVE_UP = "The import stopped several times and was given up. Rows already written stay; upload the file again to finish it."

# What matching and comparing need of a stored mentor; one scan of the partner's mentors.
_EXISTING = {name: 1 for name in csvcolumns.NAMES} | {
    "version": 1, "email_key": 1, "external_key": 1, "status": 1, "import_id": 1, "created_at": 1}


LeaseLost = leases.LeaseLost


class Lease(leases.Lease):
    """This worker's claim on one attempt at a job (see the module's docstring and
    coalition_common.leases)."""

    @classmethod
    def take(cls, database, import_id, now=None):
        """The next attempt at the job, or None while another worker's claim is alive."""
        return super().take(database.mentor_import_claims, import_id, lasts=LEASE, key="import_id", now=now)

    @property
    def import_id(self):
        return self.job_id


# --- the calls -------------------------------------------------------------------------------

def start_import(database, caller, csv_text, dispatch=None):
    """Take a CSV file (as text). A small one is imported now: the job is returned done, or
    ValidationFailed (422) lists the faults. Any other is returned running, for `run_pending`.
    TooLarge (413) for a file over csvcolumns.MAX_BYTES or MAX_ROWS."""
    if not isinstance(csv_text, str):
        raise ValidationFailed("Send the file as CSV text.", {"file": ["Not text."]})
    try:
        size = len(csv_text.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates, which only a direct RPC can send; BSON cannot store them
        raise ValidationFailed("The file is not valid UTF-8 text.", {"file": ["Not UTF-8."]}) from None
    if size > csvcolumns.MAX_BYTES:
        raise csvcolumns.TooLarge(f"The file is larger than {csvcolumns.MAX_BYTES} bytes.",
                                  {"file": [f"At most {csvcolumns.MAX_BYTES // (1024 * 1024)} MB."]})
    rows = _count_rows(csv_text)
    if rows > csvcolumns.MAX_ROWS:
        raise csvcolumns.TooLarge(f"The file has more than {csvcolumns.MAX_ROWS} rows.",
                                  {"file": [f"At most {csvcolumns.MAX_ROWS} rows."]})
    if rows == 0:
        raise ValidationFailed("The file has no data rows.", {"file": ["A header and at least one row (see the template)."]})
    now = as_stored(utcnow())
    job = {
        "_id": new_id(), "partner_id": caller["partner_id"], "created_by": caller.get("staff_id"), "status": CHECKING,
        "rows_total": rows, "rows_checked": 0, "rows_written": 0, "rows_created": 0, "rows_updated": 0, "rows_unchanged": 0,
        "faults": [], "faults_total": 0, "created_at": now, "finished_at": None, "csv_removed": False,
    }
    # A small file runs within this call: its lease is taken before the job exists, so the timer
    # (which would otherwise find the new job first) leaves it to us unless we die.
    lease = None
    if rows <= csvcolumns.IMMEDIATE_ROWS and _bank_size(database) <= IMMEDIATE_BANK:
        lease = Lease.take(database, job["_id"])
    # The file first: whoever sees the job finds its file.
    database.mentor_import_files.insert_one({"_id": job["_id"], "csv": csv_text})
    database.mentor_imports.insert_one(job)
    if lease is not None:
        try:
            job = _run(database, job, lease, dispatch)
        except LeaseLost:
            job = database.mentor_imports.find_one({"_id": job["_id"]})
        if job["status"] == FAILED:
            problem = _problem(job)
            raise ValidationFailed(problem["detail"], problem["errors"])
    return shown(job)


def _bank_size(database):
    """How many mentors the bank holds, from the collection's statistics (FerretDB counts them
    without reading them)."""
    try:
        return database.command("collStats", "mentors").get("count", 0)
    except PyMongoError:  # e.g. no such collection yet
        return 0


def read_import(database, caller, import_id):
    """The job's progress and result; only to the partner that uploaded it."""
    if not isinstance(import_id, str) or len(import_id) > 64:
        raise NotFound("No such import.")
    job = database.mentor_imports.find_one({"_id": import_id})
    if job is None or job["partner_id"] != caller.get("partner_id"):
        raise NotFound("No such import.")
    return shown(job)


def run_pending(database, dispatch):
    """The timer's work: publish events imports left behind, then run each job that nobody runs."""
    _publish_ready(database, dispatch)
    _sweep(database, dispatch)
    _remove_files_of_finished(database)
    database.mentor_imports.delete_many({"status": {"$in": [DONE, FAILED]}, "finished_at": {"$lt": utcnow() - KEEP_FINISHED}})
    for candidate in list(database.mentor_imports.find({"status": {"$in": list(RUNNING)}}, {"_id": 1})):
        lease = Lease.take(database, candidate["_id"])
        if lease is None:
            continue
        job = database.mentor_imports.find_one({"_id": candidate["_id"]})
        if job is None or job["status"] not in RUNNING:  # finished by another instance just now
            database.mentor_import_claims.delete_one({"_id": lease.claim_id})
            continue
        try:
            if lease.attempt >= MAX_ATTEMPTS:
                _finish(database, job, lease, FAILED, [(0, "file", GAVE_UP)])
            else:
                _run(database, job, lease, dispatch)
        except LeaseLost:
            continue
        except Exception as err:
            # The type only: a message may quote a cell. The claim goes stale and the job is retried.
            log.error("import %s attempt %d failed: %s", job["_id"], lease.attempt, type(err).__name__)


def shown(job):
    """A job as the API shows it (JSON types)."""
    answer = {
        "id": job["_id"], "status": job["status"],
        **{name: job.get(name, 0) for name in ("rows_total", "rows_checked", "rows_written", "rows_created", "rows_updated",
                                               "rows_unchanged", "faults_total")},
        "faults": job.get("faults") or [],
        "problem": _problem(job) if job["status"] == FAILED else None,
        "created_at": aware(job["created_at"]).isoformat(),
        "finished_at": aware(job["finished_at"]).isoformat() if job.get("finished_at") else None,
    }
    return answer


def _problem(job):
    """The problem (RFC 9457) a failed job amounts to: errors by row, then column."""
    errors = {}
    for fault in job.get("faults") or ():
        errors.setdefault(f"row {fault['row']}", {}).setdefault(fault["column"], []).append(fault["message"])
    total = job.get("faults_total") or len(job.get("faults") or ())
    listed = "" if total <= csvcolumns.MAX_FAULTS else f" The first {csvcolumns.MAX_FAULTS} are listed."
    if any(fault["message"] == GAVE_UP for fault in job.get("faults") or ()):
        detail = f"The import was given up (import {job['_id']})."
    else:
        detail = f"Nothing was imported: the file has {total} fault{'s' if total != 1 else ''} (import {job['_id']}).{listed}"
    return {"type": "about:blank", "title": "Validation failed", "status": 422, "detail": detail, "errors": errors}


# --- one attempt at a job ----------------------------------------------------------------------

@dataclass
class Planned:
    row: int
    fields: dict
    target: dict = None  # the stored mentor the row matched, if any
    changes: dict = None


def _count_rows(csv_text):
    """Data rows (not blank); a file unreadable as CSV counts up to where it breaks, and checking
    reports the fault."""
    count = 0
    reader = csvcolumns.records(csv_text)
    try:
        next(reader, None)
        for cells in reader:
            if not csvcolumns.is_blank(cells):
                count += 1
                if count > csvcolumns.MAX_ROWS:
                    break
    except csv.Error:
        count = max(count, 1)
    return count


def _progress(database, job, **counts):
    job.update(counts)
    database.mentor_imports.update_one({"_id": job["_id"]}, {"$set": counts})


def _run(database, job, lease, dispatch):
    """Check every row, then write, or record the faults. Returns the job as it ends."""
    stored = database.mentor_import_files.find_one({"_id": job["_id"]})
    if stored is None:  # finished meanwhile by another attempt
        database.mentor_import_claims.delete_one({"_id": lease.claim_id})
        return database.mentor_imports.find_one({"_id": job["_id"]})
    loaded, faults = _check(database, job, lease, stored["csv"])
    # Read even when rows are at fault: clashes with stored mentors are faults to list too.
    own = {"partner_id": job["partner_id"], "status": {"$ne": mentors.ERASED}}
    existing = _read(database.mentors.find(own, _EXISTING), lease)
    if lease.attempt and dispatch is not None:
        _publish_left_behind(database, dispatch, {"import_id": job["_id"], "attempt": {"$lt": lease.attempt}, "ready": False},
                             {m["_id"] for m in existing})
    plan = _matched(job, loaded, existing, faults)
    if faults:
        return _finish(database, job, lease, FAILED, faults)
    lease.renew()
    _progress(database, job, status=WRITING)
    late = _write(database, job, lease, plan)
    job = _finish(database, job, lease, DONE, late)
    if dispatch is not None:
        _publish_ready(database, dispatch, job["_id"])
    return job


def _read(cursor, lease):
    """Every document of a query, the lease renewed as they come: FerretDB reads the whole
    collection for it, which takes longer than LEASE with 100,000 mentors."""
    documents = []
    for document in cursor.batch_size(PROGRESS_EVERY):
        documents.append(document)
        if len(documents) % PROGRESS_EVERY == 0:
            lease.renew()
    return documents


def _check(database, job, lease, csv_text):
    """([(row, loaded fields)], faults): every row checked against MentorSchema, whatever is
    found before."""
    faults, loaded = [], []
    reader = csvcolumns.records(csv_text)
    try:
        header = csvcolumns.Header(next(reader, []))
    except csv.Error:
        return [], [(0, "header", "Not readable as CSV.")]
    if header.faults:
        return [], [(0, column, message) for column, message in header.faults]
    schema = MentorSchema()
    row, checked = 0, 0
    try:
        for cells in reader:
            row += 1
            if csvcolumns.is_blank(cells):
                continue
            given, cell_faults = header.row_fields(cells)
            faults += [(row, column, message) for column, message in cell_faults]
            try:
                fields = schema.load(given)
            except ValidationError as err:
                at_fault = {column for column, _ in cell_faults}
                faults += [(row, column, message) for column, message in csvcolumns.schema_faults(err.messages)
                           if column not in at_fault]
            else:
                if not cell_faults:
                    fields.pop("self_assessment", None)  # not a column: an import leaves it as stored
                    loaded.append((row, fields))
            checked += 1
            if checked % YIELD_EVERY == 0:
                time.sleep(0)
            if checked % PROGRESS_EVERY == 0:
                lease.renew()
                _progress(database, job, rows_checked=checked)
    except csv.Error:
        faults.append((row + 1, "row", "Not readable as CSV here (a stray or unclosed quote?)."))
    _progress(database, job, rows_checked=checked)
    return loaded, faults


def _matched(job, loaded, existing, faults):
    """Match each row to a stored mentor (external id first, then email) and find what would
    change; repeats within the file and clashes with other stored mentors are faults."""
    partner = job["partner_id"]
    by_external = {m["external_key"]: m for m in existing if m.get("external_key")}
    by_email = {m["email_key"]: m for m in existing if m.get("email_key")}
    first_email, first_external, first_target, plan = {}, {}, {}, []
    for row, fields in loaded:
        email = mentors.email_key(partner, fields["email"])
        external = mentors.external_key(partner, fields["external_id"], None) if fields.get("external_id") else None
        if email in first_email:
            faults.append((row, "email", f"The same email as row {first_email[email]}."))
            continue
        first_email[email] = row
        if external and external in first_external:
            faults.append((row, "external_id", f"The same external_id as row {first_external[external]}."))
            continue
        if external:
            first_external[external] = row
        target = by_external.get(external) if external else None
        with_email = by_email.get(email)
        if target is None:
            target = with_email
            if target is not None and external and target.get("external_id") not in (None, fields["external_id"]):
                faults.append((row, "email", "Another of your mentors, with another external_id, has this email."))
                continue
        elif with_email is not None and with_email["_id"] != target["_id"]:
            faults.append((row, "email", "Another of your mentors has this email."))
            continue
        if target is not None:
            if target["_id"] in first_target:
                faults.append((row, "email", f"The same mentor as row {first_target[target['_id']]}."))
                continue
            first_target[target["_id"]] = row
        plan.append(Planned(row, fields, target, _changes(partner, target, fields) if target else None))
    return plan


def _changes(partner, mentor, fields):
    """What the row would change in the stored mentor: {} when nothing."""
    wanted = mentors.stored_fields(fields)
    if wanted.get("external_id") is None:
        wanted.pop("external_id", None)  # an empty cell keeps the stored external id
    changes = {name: value for name, value in wanted.items() if mentor.get(name) != value}
    if "email" in changes:
        changes["email_key"] = mentors.email_key(partner, changes["email"])
    if "external_id" in changes:
        changes["external_key"] = mentors.external_key(partner, changes["external_id"], mentor["_id"])
    return changes


def _write(database, job, lease, plan):
    """Insert new mentors in batches, update changed ones; returns faults found while writing
    (someone else wrote a clashing mentor after the check)."""
    late = []
    counts = {"rows_created": 0, "rows_updated": 0, "rows_unchanged": 0}
    new, changed = [], []
    for planned in plan:
        if planned.target is None:
            new.append(planned)
        elif planned.changes:
            changed.append(planned)
        else:
            _count_unchanged(job, planned.target, counts)
    if lease.attempt and any(p.target and not p.changes and p.target.get("import_id") == job["_id"] for p in plan):
        # Cards again for what an earlier attempt wrote, in case it stopped before recording them.
        written_before = _read(database.mentors.find({"partner_id": job["partner_id"], "import_id": job["_id"]}), lease)
        for start in range(0, len(written_before), CHUNK):
            cards.record(database, *written_before[start:start + CHUNK])
    _progress(database, job, **counts, rows_written=counts["rows_created"] + counts["rows_updated"])
    for number, start in enumerate(range(0, len(new), CHUNK)):
        lease.renew()
        _insert_batch(database, job, lease, number, new[start:start + CHUNK], counts, late)
        _progress(database, job, **counts, rows_written=counts["rows_created"] + counts["rows_updated"])
    for start in range(0, len(changed), UPDATE_BATCH):
        written = []
        for planned in changed[start:start + UPDATE_BATCH]:
            lease.renew()  # an update takes FerretDB up to a second with 100,000 mentors
            written.append(_update(database, job, planned, counts, late))
        cards.record(database, *[mentor for mentor in written if mentor is not None])
        _progress(database, job, **counts, rows_written=counts["rows_created"] + counts["rows_updated"])
    return late


def _count_unchanged(job, mentor, counts):
    """A row that finds its mentor as the file has it. Written by this same job (an earlier
    attempt, or a racing instance), it counts as written; by anyone else, as unchanged."""
    if mentor.get("import_id") != job["_id"]:
        counts["rows_unchanged"] += 1
    elif aware(mentor["created_at"]) >= aware(job["created_at"]):
        counts["rows_created"] += 1
    else:
        counts["rows_updated"] += 1


def _insert_batch(database, job, lease, number, batch, counts, late):
    now = as_stored(utcnow())
    documents, events = [], []
    for planned in batch:
        document = mentors.new_document(job["partner_id"], dict(planned.fields, self_assessment=None), now)
        events += document["outbox"]
        documents.append(dict(document, outbox=[], import_id=job["_id"]))
    outbox_id = f"{job['_id']}:{lease.attempt}:{number}"
    # Before the mentors: a crash after their insert must still find their events.
    database.mentor_import_events.insert_one({"_id": outbox_id, "import_id": job["_id"], "attempt": lease.attempt,
                                              "ready": False, "created_at": now, "checked_at": None, "events": events})
    refused = set()
    try:
        database.mentors.insert_many(documents, ordered=False)
    except BulkWriteError as err:
        for error in err.details.get("writeErrors", ()):
            if error.get("code") != 11000:
                raise
            refused.add(error["index"])
    inserted = [document for index, document in enumerate(documents) if index not in refused]
    cards.record(database, *inserted)
    ids = {document["_id"] for document in inserted}
    _keep(database, outbox_id, [event for event in events if event["payload"]["mentor_id"] in ids], ready=True)
    counts["rows_created"] += len(inserted)
    if refused:
        _reconcile(database, job, lease, [batch[index] for index in sorted(refused)], counts, late)


def _reconcile(database, job, lease, rows, counts, late):
    """Rows whose insert a unique index refused: someone else (another attempt at this job, or a
    colleague through the API) stored that mentor after the check. Match again, and update."""
    partner = job["partner_id"]
    emails = [mentors.email_key(partner, planned.fields["email"]) for planned in rows]
    externals = [mentors.external_key(partner, planned.fields["external_id"], None) for planned in rows if planned.fields.get("external_id")]
    either = {"$or": [{"email_key": {"$in": emails}}, {"external_key": {"$in": externals}}]}
    found = _read(database.mentors.find(either, _EXISTING), lease)
    faults = []
    for planned in _matched(job, [(planned.row, planned.fields) for planned in rows], found, faults):
        if planned.target is None:
            faults.append((planned.row, "email", "Stored meanwhile by someone else; not imported."))
        elif planned.changes:
            written = _update(database, job, planned, counts, late)
            if written is not None:
                cards.record(database, written)
        else:
            _count_unchanged(job, planned.target, counts)
    late.extend(faults)


def _update(database, job, planned, counts, late):
    """One versioned update of a changed mentor, read again if it changed meanwhile. Returns the
    mentor as written, or None."""
    mentor = planned.target
    for _ in range(5):
        changes = dict(planned.changes, updated_at=as_stored(utcnow()), import_id=job["_id"])
        try:
            written = update_versioned(database.mentors, mentor["_id"], version_of(mentor), changes, what="mentor")
        except Conflict:
            mentor = database.mentors.find_one({"_id": mentor["_id"]}, _EXISTING)
        except NotFound:
            mentor = None
        except Exception as err:
            if not is_duplicate_key(err):
                raise
            late.append((planned.row, "email", "Another mentor got this email or external_id meanwhile; not updated."))
            return None
        else:
            counts["rows_updated"] += 1
            return written
        if mentor is None or mentor.get("status") == mentors.ERASED:
            late.append((planned.row, "email", "The mentor was erased meanwhile; not updated."))
            return None
        planned.changes = _changes(job["partner_id"], mentor, planned.fields)
        if not planned.changes:
            counts["rows_unchanged"] += 1
            return None
    late.append((planned.row, "email", "The mentor kept changing meanwhile; not updated."))
    return None


def _finish(database, job, lease, status, faults):
    """Record the outcome, then remove the file (personal data) and the claims."""
    lease.renew()
    listed = [{"row": row, "column": column, "message": message} for row, column, message in sorted(faults, key=lambda f: f[0])]
    outcome = {"status": status, "faults": listed[:csvcolumns.MAX_FAULTS], "faults_total": len(listed),
               "finished_at": as_stored(utcnow()), "csv_removed": False}
    if status == DONE:
        outcome["rows_checked"] = job["rows_total"]
    _progress(database, job, **outcome)
    _remove_file(database, job["_id"])
    database.mentor_import_claims.delete_many({"import_id": job["_id"]})
    return job


def _remove_file(database, import_id):
    database.mentor_import_files.delete_one({"_id": import_id})
    database.mentor_imports.update_one({"_id": import_id}, {"$set": {"csv_removed": True}})


def _remove_files_of_finished(database):
    """Files a worker stopped before removing (it records the outcome first)."""
    for job in database.mentor_imports.find({"status": {"$in": [DONE, FAILED]}, "csv_removed": False}, {"_id": 1}):
        _remove_file(database, job["_id"])


# --- the import's own outbox -------------------------------------------------------------------

def _publish(events, dispatch):
    """Publish in order, as the service's outbox relay does; returns how many went out before a
    failure (the rest wait for the next tick). The batch is cleared by its caller, at once."""
    return publish_outbox(None, None, events, dispatch, clear=lambda *entry: None)


def _keep(database, outbox_id, events, **marks):
    """What is left of a batch to publish; the batch goes when nothing is."""
    if events:
        database.mentor_import_events.update_one({"_id": outbox_id}, {"$set": dict(marks, events=events)})
    else:
        database.mentor_import_events.delete_one({"_id": outbox_id})


def _publish_ready(database, dispatch, import_id=None):
    """Publish ready batches (of one import, or all), each under a claim, so that two instances
    do not publish the same batch at once."""
    query = {"ready": True, **({"import_id": import_id} if import_id else {})}
    for outbox in list(database.mentor_import_events.find(query, {"_id": 1})):
        lease = Lease.take(database, f"events:{outbox['_id']}")
        if lease is None:
            continue
        outbox = database.mentor_import_events.find_one({"_id": outbox["_id"]})
        if outbox is not None:  # else published meanwhile
            _keep(database, outbox["_id"], outbox["events"][_publish(outbox["events"], dispatch):])
        database.mentor_import_claims.delete_many({"import_id": lease.import_id})


def _publish_left_behind(database, dispatch, query, existing_ids=None):
    """Batches a stopped worker left: publish the events of mentors that exist, keep the others
    (their worker may yet insert them) until ABANDONED_AFTER."""
    now = utcnow()
    for outbox in list(database.mentor_import_events.find(query)):
        ids = {event["payload"]["mentor_id"] for event in outbox["events"]}
        if existing_ids is None:
            present = {m["_id"] for m in database.mentors.find({"_id": {"$in": sorted(ids)}}, {"_id": 1})}
        else:
            present = ids & existing_ids
        events = [event for event in outbox["events"] if event["payload"]["mentor_id"] in present]
        published = {event["event_id"] for event in events[:_publish(events, dispatch)]}
        left = [event for event in outbox["events"] if event["event_id"] not in published]
        _keep(database, outbox["_id"], [] if aware(outbox["created_at"]) < now - ABANDONED_AFTER else left, checked_at=now)


def _sweep(database, dispatch):
    """Batches older than any live worker's: their worker stopped between writing and publishing.
    Looked at again every RECHECK_ABANDONED (each look reads the mentors) until ABANDONED_AFTER."""
    now = utcnow()
    _publish_left_behind(database, dispatch, {"ready": False, "created_at": {"$lt": now - 2 * LEASE},
                                              "$or": [{"checked_at": None}, {"checked_at": {"$lt": now - RECHECK_ABANDONED}}]})
