"""De-identified facts. Each fact is stored under its event id, so a redelivered event is
applied once. Facts hold codes and ids of organisations only, never a person's details."""
from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from coalition_common.ids import utcnow

# Which event fields become a fact: anything else in an event is dropped on arrival.
FACT_FIELDS = {
    "partner.registered": ("partner_id", "kind", "region"),
    "mentor.registered": ("partner_id", "isco_major", "region"),
    # Not even the mentor's pseudonymous id: one mentor.registered fact per mentor (applied once by
    # event id) already counts each mentor once, and erasure leaves that fact alone.
    "mentor.activated": ("partner_id",),
    "mentor.paused": ("partner_id",),
    "mentor.retired": ("partner_id",),
    "mentor.erased": ("partner_id",),
    "mentor.consent_changed": ("partner_id", "scope"),
    "mentor.screening_expired": ("partner_id",),
    # Mentees as mentors: programme, codes and times, never the mentee's id (one enrolled fact per
    # enrolment already counts them, and erasure leaves the facts alone).
    "mentee.enrolled": ("partner_id", "program_id", "isco_major", "region"),
    # Quality criterion 6: the time from application to the admission decision.
    "mentee.admitted": ("partner_id", "program_id", "days_to_admission"),
    "mentee.withdrawn": ("partner_id", "program_id", "reason", "from_status"),
    "mentee.erased": ("partner_id", "program_id", "from_status"),
    # A matching run's counts and quality, by programme; no person's id.
    "matching.completed": ("partner_id", "program_id", "mentees", "mentors", "groups", "placed", "objective", "bound"),
    # Organisations only, as group.approved: the mentee ids the event carries are dropped here.
    "group.proposed": ("partner_id", "program_id", "mentor_partner_id", "pooled", "group_size"),
    # Organisations only: the programme's partner and the mentor's, so pooled matches (the two
    # differ) can be counted; no person's id, not even a pseudonymous one.
    "group.approved": ("partner_id", "program_id", "mentor_partner_id", "pooled", "group_size"),
}


def prepare(database):
    database.facts.create_index([("type", ASCENDING), ("partner_id", ASCENDING)])


def record(database, event_type, event):
    """Store one fact for one event. False when the event was already applied."""
    fact = {name: event.get(name) for name in FACT_FIELDS[event_type]}
    fact.update(_id=event["event_id"], type=event_type, recorded_at=utcnow())
    try:
        database.facts.insert_one(fact)
        return True
    except DuplicateKeyError:
        return False


def coalition_counts(database, partner_id=None):
    """How many of each fact the coalition (or one partner) has: partners, mentors registered,
    activated, erased, and so on."""
    counts = {event_type: 0 for event_type in FACT_FIELDS}
    match = [{"$match": {"partner_id": partner_id}}] if partner_id else []
    for row in database.facts.aggregate(match + [{"$group": {"_id": "$type", "count": {"$sum": 1}}}]):
        counts[row["_id"]] = row["count"]
    # Groups whose mentor came from another partner than the programme's: what pooling earned.
    counts["group.approved.pooled"] = database.facts.count_documents(
        {"type": "group.approved", "pooled": True, **({"partner_id": partner_id} if partner_id else {})})
    return counts
