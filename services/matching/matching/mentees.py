"""Mentee intake, owned by the partner that takes the mentee in: the profile, admission,
enrolment in one of the partner's programmes, withdrawal and erasure, and the status moves that
matching runs and review make (move_status, waiting_of).

Each action returns what the caller may see and the events the change stored in the mentee's own
outbox (service.py publishes them). Only the owning partner's staff read or change a mentee; any
other caller gets NotFound, the same answer as for a mentee that does not exist. Events carry
pseudonymous ids and codes, never a name, an email, a phone number or a city.

Status: waiting -> proposed (a run proposed a group) -> matched (the group was approved), and
back to waiting when a proposal is rejected or expires; any live mentee may be withdrawn. Only
actions move it, never a PATCH.

Leaving a proposal: a mentee who is withdrawn or erased while `proposed` keeps nothing of the
proposal here; the answer of `withdraw_mentee` and `erase_mentee` says which group they left
(`left_group_id`), and their events carry `group_id` and `from_status`, so that review
(groups.py) takes them out of the proposal.
"""
import datetime

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.events import outbox_entry, publish_outbox
from coalition_common.fields import caseless
from coalition_common.ids import as_stored, aware, new_id, utcnow
from coalition_common.pagination import page
from coalition_common.revisions import check_expected, ensure_versions, pull_unversioned, update_versioned, version_of
from coalition_common.schemas import load, public
from matching.schemas import AdmissionSchema, MenteeQuerySchema, MenteeReadSchema, MenteeSchema, MenteeUpdateSchema, WithdrawalSchema

WAITING, PROPOSED, MATCHED, WITHDRAWN, ERASED = "waiting", "proposed", "matched", "withdrawn", "erased"
LIVE = (WAITING, PROPOSED, MATCHED)
# What a tombstone keeps; every other field is emptied on erasure.
TOMBSTONE_FIELDS = ("_id", "partner_id", "program_id", "group_id", "version", "outbox", "created_at")
# A programme in this state takes no more mentees.
CLOSED_PROGRAMME = "closed"
# What the engine reads of a mentee (its instance format): nothing personal.
INSTANCE_FIELDS = ("target_occupation", "occupation", "years_experience", "languages", "region", "modes", "availability",
                   "goals", "preferences", "needs_communication_support")
# A mentee an import is still writing is hidden until the whole file is in (mentee_imports.py).
VISIBLE = {"pending_import": None}


def prepare(database):
    # One mentee per email within a partner: what refuses duplicates, in imports too.
    database.mentees.create_index([("email_key", ASCENDING)], unique=True)
    # For MongoDB in production; FerretDB 1.x does not use secondary indexes.
    database.mentees.create_index([("partner_id", ASCENDING), ("_id", ASCENDING)])
    database.mentee_imports.create_index([("status", ASCENDING)])
    # Status moves and edits change a mentee through versioned updates.
    ensure_versions(database.mentees)


def email_key(partner_id, email):
    return f"{partner_id}:{caseless(email)}"


def new_document(partner_id, fields, now=None, mentee_id=None):
    """A new waiting mentee of `partner_id` from loaded MenteeSchema fields."""
    now = as_stored(now or utcnow())
    stored = dict(fields)
    stored["applied_at"] = as_stored(stored.get("applied_at") or now)
    stored["preferences"] = {name: value for name, value in (stored.get("preferences") or {}).items() if value is not None}
    return dict(
        stored, _id=mentee_id or new_id(), partner_id=partner_id, program_id=None, status=WAITING, group_id=None,
        admitted_at=None, withdrawal_reason=None, email_key=email_key(partner_id, stored["email"]),
        version=1, created_at=now, updated_at=now, outbox=[],
    )


def duplicate():
    return Conflict("Your partner already has a mentee with this email.", {"email": ["Already registered."]})


def shown(document):
    """The mentee as its own partner sees it (internal keys left out)."""
    return MenteeReadSchema().dump(public(document))


def about(mentee, now, **extra):
    """An event's payload: ids, time and codes, never anything personal."""
    return {"mentee_id": mentee["_id"], "partner_id": mentee["partner_id"], "program_id": mentee.get("program_id"),
            "occurred_at": now.isoformat(), **extra}


# --- intake and reading ------------------------------------------------------------------------

def create_mentee(database, caller, payload):
    """Take a mentee in at the caller's own partner (POST /mentees). Consent is required."""
    document = new_document(caller["partner_id"], load(MenteeSchema(), payload))
    try:
        database.mentees.insert_one(document)
    except DuplicateKeyError:
        raise duplicate() from None
    return shown(document), []


def _find(database, mentee_id):
    if not isinstance(mentee_id, str) or len(mentee_id) > 64:
        raise NotFound("No such mentee.")
    mentee = database.mentees.find_one({"_id": mentee_id})
    if mentee is None or mentee.get("status") == ERASED or mentee.get("pending_import"):
        raise NotFound("No such mentee.")
    return mentee


def find_own(database, caller, mentee_id):
    """A mentee of the caller's own partner; any other answers NotFound."""
    mentee = _find(database, mentee_id)
    if mentee["partner_id"] != caller.get("partner_id"):
        raise NotFound("No such mentee.")
    return mentee


def read_mentee(database, caller, mentee_id):
    return shown(find_own(database, caller, mentee_id))


def list_mentees(database, caller, query):
    """The caller's own partner's mentees, filtered (GET /mentees)."""
    query = load(MenteeQuerySchema(), query or {})
    conditions = [{"partner_id": caller.get("partner_id")}, {"status": {"$ne": ERASED}}, VISIBLE]
    if query.get("status"):
        conditions.append({"status": query["status"]})
    if query.get("program_id"):
        conditions.append({"program_id": query["program_id"]})
    if query.get("region"):
        conditions.append({"region": query["region"]})
    if query.get("target_occupation"):
        # A prefix as a range of strings: ISCO codes are digits, "2" runs up to "3".
        prefix = query["target_occupation"]
        conditions.append({"target_occupation": {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}})
    documents, next_cursor = page(database.mentees, {"$and": conditions}, query.get("cursor"), query.get("limit", 50))
    return {"items": [shown(document) for document in documents], "next_cursor": next_cursor}


# --- changes -----------------------------------------------------------------------------------

def write(database, mentee, changes, events=()):
    """One versioned write of `changes` with `events` in the outbox."""
    changes = dict(changes, updated_at=as_stored(utcnow()))
    push = {"outbox": {"$each": list(events)}} if events else None
    try:
        return update_versioned(database.mentees, mentee["_id"], version_of(mentee), changes, push=push, what="mentee")
    except DuplicateKeyError:
        raise duplicate() from None


def _live(mentee):
    if mentee["status"] not in LIVE:
        raise Conflict(f"A {mentee['status']} mentee's record no longer changes.", {"status": [f"{mentee['status'].capitalize()}."]})


def update_mentee(database, caller, mentee_id, payload, expected_version=None):
    """Change profile fields (PATCH). `expected_version` from If-Match: another answers 412."""
    mentee = find_own(database, caller, mentee_id)
    check_expected(mentee, expected_version, "mentee")
    fields = load(MenteeUpdateSchema(), payload)
    _live(mentee)
    if not fields:
        return shown(mentee), []
    nullable = ("phone", "city", "applied_at")
    for name, value in fields.items():
        if value is None and name not in nullable:
            raise ValidationFailed("A required field cannot be emptied.", {name: ["Field may not be null."]})
    if "applied_at" in fields:
        if fields["applied_at"] is None:
            raise ValidationFailed("A required field cannot be emptied.", {"applied_at": ["Field may not be null."]})
        if mentee.get("admitted_at") and fields["applied_at"] > aware(mentee["admitted_at"]):
            raise ValidationFailed("Applied after admission.", {"applied_at": ["Must not be after admitted_at."]})
    if "preferences" in fields:
        fields["preferences"] = {name: value for name, value in fields["preferences"].items() if value is not None}
    if "email" in fields:
        fields["email_key"] = email_key(mentee["partner_id"], fields["email"])
    return shown(write(database, mentee, fields)), []


def admit_mentee(database, caller, mentee_id, payload):
    """The admission decision (POST /mentees/{id}/admission): sets admitted_at once."""
    admission = load(AdmissionSchema(), payload or {})
    mentee = find_own(database, caller, mentee_id)
    _live(mentee)
    if mentee.get("admitted_at"):
        raise Conflict("The mentee was admitted already.", {"admitted_at": ["Already set."]})
    now = as_stored(utcnow())
    admitted_at = as_stored(admission.get("admitted_at") or now)
    applied_at = aware(mentee["applied_at"])
    if admitted_at < applied_at:
        raise ValidationFailed("Admitted before applying.", {"admitted_at": ["Must not be before applied_at."]})
    days = round((admitted_at - applied_at).total_seconds() / 86400, 2)
    event = outbox_entry("mentee.admitted", about(mentee, now, days_to_admission=days))
    return shown(write(database, mentee, {"admitted_at": admitted_at}, [event])), [event]


def withdraw_mentee(database, caller, mentee_id, payload):
    """The mentee leaves (POST /mentees/{id}/withdrawal), from any live status. The answer's
    `left_group_id` names the group a proposed or matched mentee leaves (see the module's
    docstring)."""
    withdrawal = load(WithdrawalSchema(), payload or {})
    mentee = find_own(database, caller, mentee_id)
    _live(mentee)
    now = as_stored(utcnow())
    event = outbox_entry("mentee.withdrawn", about(mentee, now, reason=withdrawal["reason"], from_status=mentee["status"],
                                                   group_id=mentee.get("group_id")))
    after = write(database, mentee, {"status": WITHDRAWN, "withdrawal_reason": withdrawal["reason"]}, [event])
    return dict(shown(after), left_group_id=mentee.get("group_id")), [event]


def enrol_mentee(database, caller, mentee_id, program):
    """Enrol the mentee in a programme of the caller's own partner (POST /programs/{id}/mentees).
    `program` is the programme as the registry showed it to the caller; another partner's
    programme answers NotFound, as one that does not exist."""
    if not isinstance(program, dict) or program.get("partner_id") != caller.get("partner_id"):
        raise NotFound("No such programme.")
    mentee = find_own(database, caller, mentee_id)
    if program.get("status") == CLOSED_PROGRAMME:
        raise Conflict("The programme is closed.", {"program_id": ["Closed."]})
    if mentee.get("program_id") == program["id"]:
        return shown(mentee), []
    if mentee["status"] != WAITING:
        raise Conflict("Only a waiting mentee changes programme.", {"status": [f"{mentee['status'].capitalize()}."]})
    now = as_stored(utcnow())
    event = outbox_entry("mentee.enrolled", about(dict(mentee, program_id=program["id"]), now,
                                                  isco_major=mentee["target_occupation"][0], region=mentee["region"]))
    return shown(write(database, mentee, {"program_id": program["id"]}, [event])), [event]


def erase_mentee(database, caller, mentee_id):
    """Remove the person irreversibly (DELETE /mentees/{id}). A tombstone keeps the pseudonymous
    id, partner, programme and group, so counts already reported stay consistent; every other
    field is emptied in the same single write that makes it a tombstone."""
    for _ in range(5):  # a run or review may be moving the mentee: read again and retry
        mentee = find_own(database, caller, mentee_id)
        now = as_stored(utcnow())
        event = outbox_entry("mentee.erased", about(mentee, now, from_status=mentee["status"], group_id=mentee.get("group_id")))
        emptied = {name: None for name in mentee if name not in TOMBSTONE_FIELDS}
        try:
            write(database, mentee, dict(emptied, status=ERASED, erased_from=mentee["status"], erased_at=now,
                                         email_key=f"erased:{mentee['_id']}"), [event])
        except Conflict:
            continue
        return {"id": mentee["_id"], "erased": True, "left_group_id": mentee.get("group_id")}, [event]
    raise Conflict("The mentee is changing right now; try again.", {"mentee_id": ["Busy."]})


def count_mentees(database, partner_id=None):
    query = {"status": {"$ne": ERASED}, **VISIBLE}
    if partner_id:
        query["partner_id"] = partner_id
    return database.mentees.count_documents(query)


# --- events ------------------------------------------------------------------------------------

def clear(collection, mentee_id, entry):
    """After publishing: the entry leaves the outbox without undoing a concurrent versioned change."""
    pull_unversioned(collection, mentee_id, entry)


def publish(database, mentee_id, events, dispatch):
    return publish_outbox(database.mentees, mentee_id, events, dispatch, clear)


# --- used by runs (runs.py) and review (groups.py) ---------------------------------------------

def move_status(database, mentee_id, from_statuses, to_status, group_id=None, program_id=None):
    """Move a mentee from one of `from_statuses` to `to_status`, setting `group_id` (None clears
    it), in one versioned write (coalition_common.revisions). Returns the updated mentee
    document, or None when the mentee is gone, erased, or no longer in one of `from_statuses`
    (withdrawn or erased meanwhile), or, given `program_id`, no longer enrolled in that
    programme (a run's move: re-enrolled elsewhere while the run solved). Emits nothing:
    callers decide events."""
    for _ in range(5):
        mentee = database.mentees.find_one({"_id": mentee_id})
        if mentee is None or mentee.get("pending_import") or mentee.get("status") not in tuple(from_statuses):
            return None
        if program_id is not None and mentee.get("program_id") != program_id:
            return None
        try:
            return update_versioned(database.mentees, mentee_id, version_of(mentee),
                                    {"status": to_status, "group_id": group_id, "updated_at": as_stored(utcnow())}, what="mentee")
        except NotFound:
            return None
        except Conflict:
            continue  # changed meanwhile (an edit, a withdrawal): look again
    return None


def instance_of(mentee, now):
    """A mentee in the engine's instance format: id, matching fields and `waiting_days` since
    applied_at; never a name, email, phone or city."""
    item = {"id": mentee["_id"], **{name: mentee[name] for name in INSTANCE_FIELDS if mentee.get(name) is not None}}
    applied = aware(mentee.get("applied_at") or mentee.get("created_at")) or now
    item["waiting_days"] = max(0.0, (now - applied) / datetime.timedelta(days=1))
    return item


def waiting_of(database, partner_id, program_id, now=None):
    """The waiting mentees of a programme of `partner_id`, in the instance format, by id."""
    now = now or utcnow()
    query = {"$and": [{"partner_id": partner_id}, {"program_id": program_id}, {"status": WAITING}, VISIBLE]}
    return [instance_of(mentee, now) for mentee in database.mentees.find(query).sort("_id", 1)]
