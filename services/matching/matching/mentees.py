"""Mentee intake."""
from marshmallow import ValidationError
from pymongo import ASCENDING

from coalition_common.errors import validation_failed
from coalition_common.events import outbox_entry
from coalition_common.ids import new_id, utcnow
from coalition_common.schemas import public
from matching.schemas import MenteeSchema


def prepare(database):
    database.mentees.create_index([("partner_id", ASCENDING), ("status", ASCENDING)])


def enrol_mentee(database, identity, payload):
    """Take a mentee in at a partner. Returns (mentee, outbox entries to publish)."""
    # Always for the caller's own partner: the policy allows this action only within it.
    partner_id = identity["partner_id"]
    try:
        fields = MenteeSchema().load(payload)
    except ValidationError as err:
        raise validation_failed(err)
    mentee_id = new_id()
    event = outbox_entry(
        "mentee.enrolled",
        # occupation at major-group level and region only: never a name or an email.
        {"mentee_id": mentee_id, "partner_id": partner_id, "isco_major": fields["occupation"][0], "region": fields["region"]},
    )
    document = dict(fields, _id=mentee_id, partner_id=partner_id, status="waiting", created_at=utcnow(), outbox=[event])
    database.mentees.insert_one(document)
    return MenteeSchema().dump(public(document)), [event]


def count_mentees(database, partner_id=None):
    return database.mentees.count_documents({"partner_id": partner_id} if partner_id else {})
