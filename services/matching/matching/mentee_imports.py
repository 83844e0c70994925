"""Bulk intake of mentees from a CSV file: a partner's cohort, from its own spreadsheet.

All or nothing, by the same rules as the mentor import (coalition_common.csvtable, the one
definition of cells, headers and faults): every row is loaded with MenteeSchema, the one
definition, then checked for repeats within the file and for clashes with the partner's stored
mentees (one mentee per email within a partner); on any fault nothing is written and the 422
lists every fault by row and column. Messages never quote a cell: they are personal data.

Why synchronous: a cohort is tens to hundreds of people, so a file is capped at MAX_ROWS rows
(and MAX_BYTES): checking and inserting 2,000 mentees takes seconds, well inside the gateway's
wait, so there is no job to poll and no background worker. What makes it safe without
transactions (FerretDB 1.x has none):

- The import has an id derived from the partner and the file's content (a SHA-256), and a record
  in `mentee_imports` (counts and ids, nothing personal), inserted before any mentee.
- Each row's mentee id is derived from the import and the row number, so a retry writes the same
  documents: an insert that finds its id taken is a row written by an earlier attempt, never a
  duplicate.
- Mentees are inserted hidden (`pending_import`), and only once every row is in are they all
  made visible by one update, and then the record marked `done`. A crash at any point leaves
  either nothing visible, or the whole file; uploading the same file again finishes the job (or,
  if it was done, answers the done record and writes nothing).
- A clash found while writing (the same email registered meanwhile through the API) removes the
  hidden rows again and answers 409; a writing import nobody finished is removed by the
  service's timer after ABANDONED_AFTER (`sweep_abandoned`).

Columns: every loadable MenteeSchema field under its own name, with the nested ones flattened:
`consent_version`, `consent_given_at`, `preferred_mentor_gender`, `preferred_mentor_age_band`.
"""
import csv
import datetime
import hashlib

from marshmallow import ValidationError
from pymongo.errors import BulkWriteError, DuplicateKeyError

from coalition_common import codes, csvtable
from coalition_common.csvtable import Column, TooLarge
from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.ids import as_stored, aware, utcnow
from matching import mentees
from matching.schemas import MenteeSchema

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
CHUNK = 500
WRITING, DONE = "writing", "done"
ABANDONED_AFTER = datetime.timedelta(hours=1)

COLUMNS = (
    Column("given_name", "text", "Required.", "Olena"),
    Column("family_name", "text", "Required.", "Kovalenko"),
    Column("email", "text", "Required; one mentee per email within your partner.", "olena.kovalenko@example.org"),
    csvtable.phone_column("+14165550188"),
    Column("country_trained", "text", "Required: ISO 3166-1 alpha-2 country where they trained.", "UA"),
    Column("occupation", "text", "Required: current or last occupation, ISCO-08 unit group (four digits).", "2144"),
    Column("target_occupation", "text", "Required: the occupation sought, ISCO-08 unit group.", "2144"),
    csvtable.years_column("9"),
    Column("credential_recognition", "text", f"Required: {', '.join(codes.CREDENTIAL_RECOGNITION)}.", "in_progress"),
    csvtable.languages_column("uk:native;en:B2"),
    csvtable.region_column(),
    csvtable.city_column(),
    csvtable.modes_column("virtual;hybrid"),
    csvtable.availability_column(),
    Column("goals", "list", f"Any of {', '.join(codes.GOALS)}; `;` between them.", "licensure;job_search"),
    Column("preferred_mentor_gender", "text", f"Optional: {', '.join(codes.GENDERS)}.", ""),
    Column("preferred_mentor_age_band", "text", f"Optional: {', '.join(codes.AGE_BANDS)}.", ""),
    Column("needs_communication_support", "flag", "true or false; false when empty.", "false"),
    Column("consent_version", "text", "Required: the version of the consent text the mentee agreed to.", "2026-1"),
    Column("consent_given_at", "text", "Required: when they consented, ISO 8601 with an offset.", "2026-09-01T09:00:00+00:00"),
    Column("applied_at", "text", "When they applied, ISO 8601 with an offset; the import's time when empty.", "2026-08-20T10:00:00+00:00"),
)
NAMES = tuple(column.name for column in COLUMNS)
# Flattened columns: (column, nested field, its member).
NESTED = (("consent_version", "consent", "version"), ("consent_given_at", "consent", "given_at"),
          ("preferred_mentor_gender", "preferences", "mentor_gender"), ("preferred_mentor_age_band", "preferences", "mentor_age_band"))
REQUIRED = tuple(name for name in NAMES if name in MenteeSchema().fields and MenteeSchema().fields[name].required) + (
    "consent_version", "consent_given_at")


def template():
    """The header and one example row."""
    return csvtable.write_table(NAMES, [[csvtable.neutralised(column.example) for column in COLUMNS]])


def documentation():
    return csvtable.documentation(COLUMNS)


def payload_of(given):
    """A row's cells (by column) as the JSON a POST /mentees would take."""
    payload = {name: value for name, value in given.items() if name not in {column for column, _, _ in NESTED}}
    for column, field, member in NESTED:
        if column in given:
            payload.setdefault(field, {})[member] = given[column]
    if "consent" not in payload:
        payload["consent"] = None  # refused below as missing, under its columns
    return payload


def row_faults(messages):
    """MenteeSchema's messages as (column, message), nested fields under their own columns."""
    flat = {}
    for name, nested in messages.items():
        if name in ("consent", "preferences") and isinstance(nested, dict):
            for column, field, member in NESTED:
                if field == name and member in nested:
                    flat[column] = nested.pop(member)
            if nested:
                flat[name] = nested
        elif name == "consent":
            flat["consent_version"] = ["Missing data for required field."]
        else:
            flat[name] = nested
    return csvtable.schema_faults(flat, NAMES)


def check(csv_text):
    """Every row loaded, or the faults: ([(row, fields)], [{row, column, message}])."""
    csvtable.checked_size(csv_text, MAX_BYTES)
    loaded, faults = [], []
    reader = csvtable.records(csv_text)
    try:
        header = csvtable.Header(next(reader, []), COLUMNS, REQUIRED)
        faults += [{"row": 0, "column": column, "message": message} for column, message in header.faults]
        row = 0
        for cells in reader:
            if csvtable.is_blank(cells):
                continue
            row += 1
            if row > MAX_ROWS:
                raise TooLarge(f"The file has more than {MAX_ROWS} rows.", {"file": [f"At most {MAX_ROWS} rows."]})
            given, cell_faults = header.row_fields(cells)
            found = list(cell_faults)
            if not cell_faults and not header.faults:
                try:
                    loaded.append((row, MenteeSchema().load(payload_of(given))))
                except ValidationError as err:
                    found += row_faults(err.messages)
            faults += [{"row": row, "column": column, "message": message} for column, message in found]
    except csv.Error:
        faults.append({"row": 0, "column": "file", "message": "Not readable as CSV (an unclosed quote?)."})
    if not loaded and not faults:
        raise ValidationFailed("The file has no data rows.", {"file": ["A header and at least one row (see the template)."]})
    return loaded, faults


def import_id_of(partner_id, csv_text):
    return hashlib.sha256(f"{partner_id}\0{csv_text}".encode("utf-8")).hexdigest()[:32]


def mentee_id_of(import_id, created_at, row):
    """The row's mentee id: our id format (creation time first, so ids sort in creation order),
    the same on every attempt at the import."""
    stamp = f"{int(aware(created_at).timestamp() * 1000):012x}"
    return stamp + hashlib.sha256(f"{import_id}:{row}".encode()).hexdigest()[:20]


def shown(job):
    return {"id": job["_id"], "status": job["status"], "rows_total": job["rows_total"],
            "rows_created": job.get("rows_created", 0), "mentee_ids": job.get("mentee_ids") or [],
            "created_at": aware(job["created_at"]).isoformat(),
            "finished_at": aware(job["finished_at"]).isoformat() if job.get("finished_at") else None}


def _fail(faults):
    """422 listing the faults by row, then column (at most csvtable.MAX_FAULTS of them)."""
    more = "" if len(faults) <= csvtable.MAX_FAULTS else f" The first {csvtable.MAX_FAULTS} are listed."
    errors = csvtable.problem(faults[:csvtable.MAX_FAULTS], "")["errors"]
    raise ValidationFailed(f"Nothing was imported: the file has {len(faults)} fault{'s' if len(faults) != 1 else ''}.{more}", errors)


def import_mentees(database, caller, csv_text):
    """Import a CSV file of mentees for the caller's own partner (see the module's docstring).
    Returns the import's record, done; ValidationFailed (422) lists every fault, TooLarge (413)."""
    partner_id = caller["partner_id"]
    loaded, faults = check(csv_text)
    import_id = import_id_of(partner_id, csv_text)
    job = database.mentee_imports.find_one({"_id": import_id})
    if job is not None and job["status"] == DONE:
        return shown(job)  # the same file again: written already
    # Clashes within the file, and with the partner's stored mentees (an earlier attempt at this
    # same import does not clash with itself).
    stored = {m["email_key"]: m.get("import_id") for m in database.mentees.find(
        {"partner_id": partner_id, "status": {"$ne": mentees.ERASED}}, {"email_key": 1, "import_id": 1})}
    first_row = {}
    for row, fields in loaded:
        key = mentees.email_key(partner_id, fields["email"])
        if key in first_row:
            faults.append({"row": row, "column": "email", "message": f"Repeats row {first_row[key]}."})
        elif key in stored and stored[key] != import_id:
            faults.append({"row": row, "column": "email", "message": "Your partner already has a mentee with this email."})
        first_row.setdefault(key, row)
    if faults:
        _fail(sorted(faults, key=lambda fault: fault["row"]))
    now = as_stored(utcnow())
    if job is None:
        job = {"_id": import_id, "partner_id": partner_id, "created_by": caller.get("staff_id"), "status": WRITING,
               "rows_total": len(loaded), "created_at": now, "finished_at": None}
        try:
            database.mentee_imports.insert_one(job)
        except DuplicateKeyError:  # the same file, uploaded twice at once: both write the same rows
            job = database.mentee_imports.find_one({"_id": import_id}) or job
    documents = []
    for row, fields in loaded:
        document = mentees.new_document(partner_id, fields, now=now, mentee_id=mentee_id_of(import_id, job["created_at"], row))
        documents.append(dict(document, import_id=import_id, pending_import=import_id))
    _insert(database, import_id, documents)
    database.mentees.update_many({"pending_import": import_id}, {"$set": {"pending_import": None}})
    done = {"status": DONE, "rows_created": len(documents), "mentee_ids": [d["_id"] for d in documents], "finished_at": as_stored(utcnow())}
    database.mentee_imports.update_one({"_id": import_id}, {"$set": done})
    return shown(dict(job, **done))


def _insert(database, import_id, documents):
    """Insert the hidden rows; rows an earlier attempt wrote are found in place."""
    for start in range(0, len(documents), CHUNK):
        chunk = documents[start:start + CHUNK]
        try:
            database.mentees.insert_many(chunk, ordered=False)
        except BulkWriteError as err:
            failed = [chunk[error["index"]] for error in err.details.get("writeErrors", [])]
            ours = {m["_id"] for m in database.mentees.find({"_id": {"$in": [d["_id"] for d in failed]}, "import_id": import_id}, {"_id": 1})}
            clashes = [d for d in failed if d["_id"] not in ours]
            if clashes:
                _remove(database, import_id)
                raise Conflict("Some of these emails were registered meanwhile; nothing was imported. Upload the file again.",
                               {"email": ["Registered meanwhile."]}) from None


def _remove(database, import_id):
    """Take back a hidden import: its rows, then its record."""
    database.mentees.delete_many({"pending_import": import_id})
    database.mentee_imports.delete_one({"_id": import_id, "status": WRITING})


def read_import(database, caller, import_id):
    """An import's record; only to the partner that uploaded it."""
    if not isinstance(import_id, str) or len(import_id) > 64:
        raise NotFound("No such import.")
    job = database.mentee_imports.find_one({"_id": import_id})
    if job is None or job["partner_id"] != caller.get("partner_id"):
        raise NotFound("No such import.")
    return shown(job)


def sweep_abandoned(database, now=None):
    """Imports still writing long after they began: their uploader stopped (a crash, a lost
    connection) and never retried. Their hidden rows go, so the emails are free again."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    for job in list(database.mentee_imports.find({"status": WRITING, "created_at": {"$lt": cutoff}}, {"_id": 1})):
        _remove(database, job["_id"])
