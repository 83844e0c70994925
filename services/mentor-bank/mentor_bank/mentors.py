"""Mentors in the shared bank: profile, lifecycle, screening, orientation, consent to sharing and
erasure. Each function returns what the caller may see and the events the change stored in the
mentor's outbox (service.py publishes them).

Only the recruiting partner's staff change a mentor or see its personal data; any other partner,
the coalition admin included, sees a pooled mentor's card (cards.pooled_view) and nothing else.
"""
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.events import outbox_entry
from coalition_common.fields import caseless
from coalition_common.ids import as_stored, new_id, utcnow
from coalition_common.revisions import check_expected, ensure_versions, update_versioned, version_of
from coalition_common.schemas import load, public
from mentor_bank import cards, outbox, pool
from mentor_bank.schemas import (MentorSchema, MentorUpdateSchema, OrientationSchema, ScreeningSchema, SharingSchema, StatusChangeSchema,
                                 self_assessment_score)

# Lifecycle: applicant -> screened -> trained -> active <-> paused -> retired; any live mentor
# may retire. Moved by actions only, never by PATCH.
NEXT = {
    "applicant": ("screened", "retired"),
    "screened": ("trained", "retired"),
    "trained": ("active", "retired"),
    "active": ("paused", "retired"),
    "paused": ("active", "retired"),
    "retired": (),
}
ERASED = "erased"
# What a tombstone keeps; every other field is emptied on erasure.
TOMBSTONE_FIELDS = ("_id", "partner_id", "version", "holds", "outbox", "created_at")


def prepare(database):
    # One mentor per email (and per external id) within a partner: what makes imports idempotent.
    database.mentors.create_index([("email_key", ASCENDING)], unique=True)
    database.mentors.create_index([("external_key", ASCENDING)], unique=True)
    # For MongoDB in production; FerretDB 1.x does not use secondary indexes, and search is
    # served from each instance's in-memory index anyway (search.py).
    database.mentors.create_index([("partner_id", ASCENDING), ("_id", ASCENDING)])
    database.mentor_changes.create_index([("at", ASCENDING)])
    database.mentor_outbox_pending.create_index([("at", ASCENDING)])
    # Reservations and edits change a mentor through versioned updates.
    ensure_versions(database.mentors)


def email_key(partner_id, email):
    return f"{partner_id}:{caseless(email)}"


def external_key(partner_id, external_id, mentor_id):
    # Without an external id the key is the mentor's own, unique by construction.
    return f"{partner_id}:{external_id}" if external_id else f"-:{mentor_id}"


def stored_fields(fields):
    """Profile fields as stored: the self-assessment gains its score."""
    stored = dict(fields)
    if stored.get("self_assessment"):
        stored["self_assessment"] = dict(stored["self_assessment"], score=self_assessment_score(stored["self_assessment"]["answers"]))
    return stored


def new_document(partner_id, fields, now=None):
    """A new applicant for `partner_id` from loaded MentorSchema fields, with its
    mentor.registered event in the outbox."""
    now = as_stored(now or utcnow())
    mentor_id = new_id()
    fields = stored_fields(fields)
    event = outbox_entry("mentor.registered", {
        "mentor_id": mentor_id, "partner_id": partner_id, "occurred_at": now.isoformat(),
        # occupation at major-group level and region only: never a name or an email.
        "isco_major": fields["occupations"][0][0], "region": fields["region"]})
    return dict(
        fields, _id=mentor_id, partner_id=partner_id, status="applicant", version=1,
        email_key=email_key(partner_id, fields["email"]),
        external_key=external_key(partner_id, fields.get("external_id"), mentor_id),
        sharing={"scope": "own_partner", "consent_text_version": None, "consented_at": None, "recorded_at": now},
        sharing_history=[], screening=None, orientation=None, holds=[],
        created_at=now, updated_at=now, outbox=[event],
    )


def _duplicate(err):
    which = "external_id" if "external_key" in str(err) else "email"
    return Conflict(f"Your partner already has a mentor with this {which.replace('_', ' ')}.", {which: ["Already registered."]})


def register_mentor(database, caller, payload):
    """A new applicant recruited by the caller's own partner."""
    document = new_document(caller["partner_id"], load(MentorSchema(), payload))
    outbox.note(database, document["_id"], document["outbox"])
    try:
        database.mentors.insert_one(document)
    except DuplicateKeyError as err:
        raise _duplicate(err)
    cards.record(database, document)
    return shown(document, caller), document["outbox"]


def shown(document, caller, now=None):
    """The mentor as this caller may see it: in full for the recruiting partner, the pooled card
    for anyone else."""
    card = cards.card_of(document)
    if document["partner_id"] != caller.get("partner_id"):
        return cards.pooled_view(card, own=False, now=now)
    view = MentorSchema().dump(public(document))
    view["places_left"] = cards.places_left(card, now)
    view["eligible_now"] = bool(cards.eligible_now(card, now))
    return view


def _find(database, mentor_id):
    if not isinstance(mentor_id, str) or len(mentor_id) > 64:
        raise NotFound("No such mentor.")
    mentor = database.mentors.find_one({"_id": mentor_id})
    if mentor is None or mentor.get("status") == ERASED:
        raise NotFound("No such mentor.")
    return mentor


def find_visible(database, caller, mentor_id):
    """The mentor if the pooling rules let the caller see it; otherwise NotFound, the same answer
    as for a mentor that does not exist."""
    mentor = _find(database, mentor_id)
    if not pool.sees(database, caller, mentor):
        raise NotFound("No such mentor.")
    return mentor


def find_own(database, caller, mentor_id):
    """A mentor of the caller's own partner, to change; any other answers NotFound."""
    mentor = _find(database, mentor_id)
    if mentor["partner_id"] != caller.get("partner_id"):
        raise NotFound("No such mentor.")
    return mentor


def read_mentor(database, caller, mentor_id):
    return shown(find_visible(database, caller, mentor_id), caller)


def write(database, mentor, changes, events=()):
    """One versioned write of `changes` with `events` in the outbox; the card follows."""
    changes = dict(changes, updated_at=as_stored(utcnow()))
    push = {"outbox": {"$each": list(events)}} if events else None
    outbox.note(database, mentor["_id"], events)
    try:
        after = update_versioned(database.mentors, mentor["_id"], version_of(mentor), changes, push=push, what="mentor")
    except DuplicateKeyError as err:
        raise _duplicate(err)
    cards.record(database, after)
    return after


def about(mentor, now, **extra):
    """An event's payload: ids, time and codes, never anything personal."""
    return {"mentor_id": mentor["_id"], "partner_id": mentor["partner_id"], "occurred_at": now.isoformat(), **extra}


def _status_events(wanted, mentor, now):
    if wanted == "active":
        return [outbox_entry("mentor.activated", about(mentor, now))]
    if wanted == "paused":
        return [outbox_entry("mentor.paused", about(mentor, now))]
    if wanted == "retired":
        return [outbox_entry("mentor.retired", about(mentor, now))]
    return []


def update_mentor(database, caller, mentor_id, payload, expected_version=None):
    """Change profile fields (PATCH). `expected_version` from If-Match: another answers 412."""
    mentor = find_own(database, caller, mentor_id)
    check_expected(mentor, expected_version, "mentor")
    _not_retired(mentor)
    fields = stored_fields(load(MentorUpdateSchema(), payload))
    if not fields:
        return shown(mentor, caller), []
    for required in ("given_name", "family_name", "email", "occupations", "languages", "region", "modes", "years_experience"):
        if required in fields and fields[required] is None:
            raise ValidationFailed("A required field cannot be emptied.", {required: ["Field may not be null."]})
    if "email" in fields:
        fields["email_key"] = email_key(mentor["partner_id"], fields["email"])
    if "external_id" in fields:
        fields["external_key"] = external_key(mentor["partner_id"], fields["external_id"], mentor["_id"])
    return shown(write(database, mentor, fields), caller), []


def change_status(database, caller, mentor_id, payload):
    """Move the mentor one step through its lifecycle (POST /mentors/{id}/status)."""
    change = load(StatusChangeSchema(), payload)
    mentor = find_own(database, caller, mentor_id)
    current, wanted = mentor["status"], change["status"]
    if wanted == current:
        return shown(mentor, caller), []
    if wanted not in NEXT[current]:
        raise Conflict(f"A mentor who is {current} cannot become {wanted}.", {"status": [f"Not allowed from {current}."]})
    now = as_stored(utcnow())
    card = cards.card_of(mentor)
    if wanted in ("screened", "active") and not cards.screening_valid(card, now):
        raise Conflict("The background check must be clear (or not required) and unexpired.", {"status": ["Screening is not valid."]})
    if wanted in ("trained", "active") and not card["oriented"]:
        raise Conflict("Orientation must be completed first.", {"status": ["Orientation not completed."]})
    events = _status_events(wanted, mentor, now)
    after = write(database, mentor, {"status": wanted, "status_reason": change.get("reason")}, events)
    return shown(after, caller), events


def _not_retired(mentor):
    if mentor["status"] == "retired":
        raise Conflict("A retired mentor's record no longer changes.", {"status": ["Retired."]})


def record_screening(database, caller, mentor_id, payload):
    """The background check's result (PUT /mentors/{id}/screening)."""
    screening = load(ScreeningSchema(), payload)
    mentor = find_own(database, caller, mentor_id)
    _not_retired(mentor)
    now = utcnow()
    for name in ("checked_at",):
        if screening.get(name) and screening[name] > now:
            raise ValidationFailed("Not in the future.", {name: ["Must not be in the future."]})
    screening["expiry_announced"] = False
    return shown(write(database, mentor, {"screening": screening}), caller), []


def record_orientation(database, caller, mentor_id, payload):
    """Orientation completed (PUT /mentors/{id}/orientation)."""
    orientation = load(OrientationSchema(), payload)
    if orientation["completed_at"] > utcnow():
        raise ValidationFailed("Not in the future.", {"completed_at": ["Must not be in the future."]})
    mentor = find_own(database, caller, mentor_id)
    _not_retired(mentor)
    return shown(write(database, mentor, {"orientation": orientation}), caller), []


def change_sharing(database, caller, mentor_id, payload):
    """The mentor's consent to sharing with the coalition, given or withdrawn
    (PUT /mentors/{id}/sharing). Each change is kept in the history. Withdrawal holds for new
    matches at once: search and reservations read the scope written here."""
    sharing = load(SharingSchema(), payload)
    now = as_stored(utcnow())
    if sharing["consented_at"] > now:
        raise ValidationFailed("Not in the future.", {"consented_at": ["Must not be in the future."]})
    mentor = find_own(database, caller, mentor_id)
    if sharing["scope"] == "coalition":
        _not_retired(mentor)  # withdrawing stays possible, always
    sharing["recorded_at"] = now
    previous = mentor.get("sharing") or {}
    events = []
    if previous.get("scope") != sharing["scope"]:
        events.append(outbox_entry("mentor.consent_changed", about(mentor, now, scope=sharing["scope"])))
    after = write(database, mentor, {"sharing": sharing, "sharing_history": (mentor.get("sharing_history") or []) + [sharing]}, events)
    return shown(after, caller), events


def sharing_history(database, caller, mentor_id):
    mentor = find_own(database, caller, mentor_id)
    return {"items": [SharingSchema().dump(entry) for entry in mentor.get("sharing_history") or ()]}


def erase_mentor(database, caller, mentor_id):
    """Remove the person irreversibly (DELETE /mentors/{id}). A tombstone keeps the pseudonymous
    id, partner and holds, so counts already reported stay consistent and groups keep their
    place; every other field is emptied in the same single write that makes it a tombstone."""
    for _ in range(5):  # holds may be changing under matching: read again and retry
        mentor = find_own(database, caller, mentor_id)
        now = as_stored(utcnow())
        event = outbox_entry("mentor.erased", about(mentor, now))
        emptied = {name: None for name in mentor if name not in TOMBSTONE_FIELDS}
        try:
            write(database, mentor, dict(
                emptied, status=ERASED, erased_at=now,
                # Unique keys that can never match a real address or external id again.
                email_key=f"erased:{mentor['_id']}", external_key=f"erased:{mentor['_id']}"), [event])
        except Conflict:
            continue
        return {"id": mentor["_id"], "erased": True}, [event]
    raise Conflict("The mentor is changing right now; try again.", {"mentor_id": ["Busy."]})


def count_mentors(database, partner_id=None):
    query = {"status": {"$ne": ERASED}}
    if partner_id:
        query["partner_id"] = partner_id
    return database.mentors.count_documents(query)
