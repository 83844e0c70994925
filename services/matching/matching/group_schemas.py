"""What review of proposals accepts and returns: the one definition, used by the service
(matching.groups) to validate and by the gateway to validate and to write the OpenAPI document.

A group carries no personal data: mentees appear by id (coordinators look them up through the
mentee routes), the mentor by id and partner (the mentor routes show the pooled card)."""
import re

from marshmallow import fields, validate

from coalition_common.fields import Choice, Id, Moment
from coalition_common.schemas import StrictSchema

# proposed → approved (two different staff members of the programme's partner), or rejected,
# or expired when nobody decided in time.
STATUSES = ("proposed", "approved", "rejected", "expired")
# `{run id}-{n:04d}`: a run writes each of its groups under a deterministic id (matching.runs).
GROUP_ID_PATTERN = "[0-9a-f]{32}-[0-9]{4,6}"
_GROUP_ID = re.compile(GROUP_ID_PATTERN)


def is_group_id(value):
    return isinstance(value, str) and _GROUP_ID.fullmatch(value) is not None


class GroupId(fields.String):
    """A group's id, as a run gives it out."""

    default_error_messages = {"invalid": "Not a group id."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not is_group_id(value):
            raise self.make_error("invalid")
        return value


class CommonSchema(StrictSchema):
    """What the whole group shares: a language (at or above the programme's minimum level for
    everyone), a weekly slot, a mode, and the region unless the group meets virtually."""

    language = fields.String(dump_only=True)
    slot = fields.String(dump_only=True)
    mode = fields.String(dump_only=True)
    region = fields.String(dump_only=True, allow_none=True)


class MemberExplanationSchema(StrictSchema):
    """Why a mentee is in the group: the criteria met and the score broken down by weight."""

    mentee_id = fields.String(dump_only=True)
    score = fields.Float(dump_only=True)
    breakdown = fields.Dict(keys=fields.String(), values=fields.Float(), dump_only=True)
    criteria = fields.List(fields.String(), dump_only=True)


class ApprovalSchema(StrictSchema):
    staff_id = fields.String(dump_only=True)
    at = Moment(dump_only=True)


class GroupSchema(StrictSchema):
    """A proposal of a matching run and, after two approvals, a group."""

    id = fields.String(dump_only=True)
    program_id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True, metadata={"description": "The programme's partner."})
    run_id = fields.String(dump_only=True)
    mentor_id = fields.String(dump_only=True)
    mentor_partner_id = fields.String(dump_only=True, metadata={"description": "Differs from partner_id for a pooled mentor."})
    mentee_ids = fields.List(fields.String(), dump_only=True)
    common = fields.Nested(CommonSchema, dump_only=True)
    rule_set = fields.String(dump_only=True)
    score = fields.Float(dump_only=True)
    members = fields.List(fields.Nested(MemberExplanationSchema), dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    approvals = fields.List(fields.Nested(ApprovalSchema), dump_only=True,
                            metadata={"description": "Two different staff members approve a proposal; the first approval holds a place of the mentor's."})
    reserved = fields.Boolean(dump_only=True, metadata={"description": "Whether one of the mentor's places is held for this proposal."})
    expires_at = Moment(dump_only=True, metadata={"description": "A proposal not decided by then expires and frees its mentor and mentees."})
    approved_at = Moment(dump_only=True, allow_none=True)
    rejected_at = Moment(dump_only=True, allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True, allow_none=True)


class GroupQuerySchema(StrictSchema):
    """List filters; every one given must hold."""

    program_id = Id(load_default=None)
    run_id = Id(load_default=None)
    status = Choice(STATUSES, load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DecisionSchema(StrictSchema):
    """An approval or a rejection takes no fields: who decides and when are the server's."""


class MenteeMoveSchema(StrictSchema):
    """Move a mentee into this proposal from another proposal of the same run."""

    mentee_id = Id(required=True)
    from_group_id = GroupId(required=True)


class MentorSwapSchema(StrictSchema):
    """Give the proposal another mentor (one the programme's partner may see)."""

    mentor_id = Id(required=True)


class GroupMoveSchema(StrictSchema):
    """Both proposals after a move, each rescored."""

    group = fields.Nested(GroupSchema, dump_only=True)
    from_group = fields.Nested(GroupSchema, dump_only=True)
