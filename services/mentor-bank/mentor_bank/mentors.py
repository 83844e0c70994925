"""Mentor registration in the shared bank."""
from marshmallow import ValidationError
from pymongo import ASCENDING

from coalition_common.errors import validation_failed
from coalition_common.events import outbox_entry
from coalition_common.ids import new_id, utcnow
from coalition_common.revisions import ensure_versions
from coalition_common.schemas import public
from mentor_bank.schemas import MentorSchema


def prepare(database):
    database.mentors.create_index([("partner_id", ASCENDING), ("occupation", ASCENDING)])
    # Reservations change a mentor's holds through versioned updates.
    ensure_versions(database.mentors)


def register_mentor(database, identity, payload):
    """Store a mentor for a partner. Returns (mentor, outbox entries to publish)."""
    # Always for the caller's own partner: the policy allows this action only within it.
    partner_id = identity["partner_id"]
    try:
        fields = MentorSchema().load(payload)
    except ValidationError as err:
        raise validation_failed(err)
    mentor_id = new_id()
    event = outbox_entry(
        "mentor.registered",
        # occupation at major-group level and region only: never a name or an email.
        {"mentor_id": mentor_id, "partner_id": partner_id, "isco_major": fields["occupation"][0], "region": fields["region"]},
    )
    document = dict(fields, _id=mentor_id, partner_id=partner_id, status="screening", version=1, created_at=utcnow(), outbox=[event])
    database.mentors.insert_one(document)
    return MentorSchema().dump(public(document)), [event]


def count_mentors(database, partner_id=None):
    return database.mentors.count_documents({"partner_id": partner_id} if partner_id else {})
