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
    "mentee.enrolled": ("partner_id", "isco_major", "region"),
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
    return counts
