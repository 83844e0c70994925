"""What the registry accepts and returns: the one definition of each contract, used by the
registry to validate and by the gateway to validate and to write the OpenAPI document.

Server-set fields are dump_only, and update schemas list only what a caller may change, so a
request body can never set the rest. Stored strings, numbers, ids and date-times go through
coalition_common.fields; date-times are shown as ISO 8601 in UTC."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from coalition_common import codes
from coalition_common.fields import (
    Choice,
    Day,
    Email,
    Id,
    Moment,
    Name,
    Text,
    UniqueList,
    Url,
    Whole,
)
from coalition_common.policy import PARTNER_ROLES, ROLES
from coalition_common.schemas import StrictSchema

PARTNER_KINDS = ("ngo", "employer", "industry_association", "public_body", "education", "regional_hub")
PARTNER_STATUSES = ("active", "suspended")
PROGRAM_MODES = ("in_person", "hybrid", "virtual")
PROGRAM_STATUSES = ("draft", "recruiting", "matching", "running", "closed")
WEBHOOK_EVENT_TYPES = ("mentee.enrolled", "mentor.registered", "group.approved", "mentee.referred")
CHARTER_VERSION = "2026-1"


class AcceptedCharterSchema(Schema):
    """A partner's accepted charter, as shown inside the partner."""

    version = fields.String()
    accepted_at = Moment()
    accepted_by = fields.String(metadata={"description": "The staff id of whoever accepted it."})


class PartnerSchema(StrictSchema):
    id = fields.String(dump_only=True)
    name = Name(required=True, min=2, max=200)
    kind = Choice(PARTNER_KINDS, required=True)
    sectors = UniqueList(codes.isco_group(), load_default=list, max=60)
    region = codes.region(required=True)
    hub_id = Id(load_default=None, allow_none=True, metadata={"description": "The regional hub this partner reports to."})
    status = Choice(PARTNER_STATUSES, dump_only=True)
    charter = fields.Nested(AcceptedCharterSchema, dump_only=True, allow_none=True)
    version = Whole(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True)


class PartnerUpdateSchema(StrictSchema):
    """What a partner's own admin may change. Region and hub are the coalition admin's."""

    name = Name(min=2, max=200)
    sectors = UniqueList(codes.isco_group(), max=60)


class PartnerAdminUpdateSchema(PartnerUpdateSchema):
    """What a coalition admin may change; the gateway validates with it, and the registry again
    with the schema for the caller's role."""

    region = codes.region()
    hub_id = Id(allow_none=True)


class CharterSchema(StrictSchema):
    """Accepting the charter: the version the partner's admin read."""

    version = Text(required=True, max=20, validate=validate.Equal(CHARTER_VERSION, error=f"The current charter is version {CHARTER_VERSION}."))


class CharterStatusSchema(Schema):
    """Whether a partner has accepted the charter, which version, when and by whom."""

    partner_id = fields.String()
    current_version = fields.String()
    accepted = fields.Boolean()
    version = fields.String(allow_none=True)
    accepted_at = Moment(allow_none=True)
    accepted_by = fields.String(allow_none=True)


class StaffSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True, allow_none=True)
    name = Name(required=True, min=1, max=200)
    email = Email(required=True)
    roles = UniqueList(Choice(PARTNER_ROLES), required=True, min=1, max=4)
    status = fields.String(dump_only=True)
    version = Whole(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True)


class NewStaffSchema(StaffSchema):
    """A staff member just added, with the enrolment token they exchange for their first key."""

    enrolment_token = fields.String(dump_only=True, metadata={
        "description": "Single use, valid 72 h, shown once: the new staff member exchanges it at POST /api/v1/enrolments for their first key."})
    enrolment_expires_at = Moment(dump_only=True)


class StaffUpdateSchema(StrictSchema):
    name = Name(min=1, max=200)
    roles = UniqueList(Choice(PARTNER_ROLES), min=1, max=4)


class KeyCreateSchema(StrictSchema):
    label = Text(load_default=None, allow_none=True, max=100)
    expires_at = Moment(load_default=None, allow_none=True)


class KeySchema(Schema):
    id = fields.String()
    staff_id = fields.String()
    partner_id = fields.String(allow_none=True)
    prefix = fields.String()
    label = fields.String(allow_none=True)
    created_at = Moment()
    expires_at = Moment(allow_none=True)
    revoked_at = Moment(allow_none=True)
    last_used_at = Moment(allow_none=True)


class NewKeySchema(KeySchema):
    key = fields.String(metadata={"description": "The key itself. Shown once; only its hash is stored."})


class EnrolmentSchema(Schema):
    staff_id = fields.String()
    enrolment_token = fields.String(metadata={"description": "Single use, shown once; only its hash is stored."})
    enrolment_expires_at = Moment()


class EnrolmentExchangeSchema(KeyCreateSchema):
    token = Text(required=True, max=200)


class ProgramSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    name = Text(required=True, min=2, max=200)
    occupations = UniqueList(codes.isco_occupation(), load_default=list, max=50)
    sectors = UniqueList(codes.isco_group(), load_default=list, max=60)
    group_size_min = Whole(load_default=3, min=1, max=20, metadata={"description": "Mentees per mentor, at least."})
    group_size_max = Whole(load_default=5, min=1, max=20, metadata={"description": "Mentees per mentor, at most."})
    planned_sessions = Whole(load_default=5, min=1, max=52)
    session_minutes = Whole(load_default=120, min=30, max=240)
    duration_weeks = Whole(load_default=10, min=8, max=52)
    max_days_between_contacts = Whole(load_default=14, min=1, max=31)
    first_check_in_days = Whole(load_default=30, min=7, max=31)
    first_check_in_sessions = Whole(load_default=2, min=1, max=5)
    match_deadline_days = Whole(load_default=60, min=7, max=365)
    referrals = UniqueList(Text(max=200), load_default=list, max=20)
    mode = Choice(PROGRAM_MODES, load_default="hybrid")
    start_date = Day(required=True)
    status = Choice(PROGRAM_STATUSES, dump_only=True)
    version = Whole(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True)

    @validates_schema
    def group_size_in_order(self, data, partial=False, **kwargs):
        if partial:
            return  # checked against the stored programme in registry.programs.update_program
        low = data.get("group_size_min", 3)
        high = data.get("group_size_max", 5)
        if low > high:
            raise ValidationError("Must not be below group_size_min.", "group_size_max")


class ProgramUpdateSchema(ProgramSchema):
    """Every programme field is optional on update; `status` moves only through its own action."""

    class Meta(StrictSchema.Meta):
        pass

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class ProgramTransitionSchema(StrictSchema):
    status = Choice(PROGRAM_STATUSES, required=True)


class WebhookSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    url = Url(required=True, schemes=("https",), require_tld=False, max=500)
    event_types = UniqueList(Choice(WEBHOOK_EVENT_TYPES), required=True, min=1, max=10)
    status = fields.String(dump_only=True)
    created_at = Moment(dump_only=True)


class NewWebhookSchema(WebhookSchema):
    secret = fields.String(dump_only=True, metadata={"description": "HMAC-SHA256 signing secret. Shown once."})


class DeliverySchema(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = Moment()
    delivered_at = Moment(allow_none=True)


class AuditEntrySchema(Schema):
    id = fields.String()
    at = Moment()
    action = fields.String()
    actor_staff_id = fields.String(allow_none=True)
    actor_partner_id = fields.String(allow_none=True)
    target_type = fields.String()
    target_id = fields.String(allow_none=True)
    partner_id = fields.String(allow_none=True)
    details = fields.Dict()


class CallerSchema(StaffSchema):
    """The caller as /me shows them: a coalition admin is staff too, holding the coalition role."""

    roles = fields.List(Choice(ROLES), dump_only=True)


class MeSchema(Schema):
    staff = fields.Nested(CallerSchema)
    partner = fields.Nested(PartnerSchema, allow_none=True)
    roles = fields.List(fields.String())
