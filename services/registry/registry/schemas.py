"""What the registry accepts and returns. Server-set fields are dump_only, and update schemas
list only what a caller may change, so a request body can never set the rest."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from coalition_common import codes
from coalition_common.schemas import StrictSchema

PARTNER_KINDS = ("ngo", "employer", "industry_association", "public_body", "education", "regional_hub")
ROLES = ("coalition_admin", "partner_admin", "coordinator", "recruiter", "analyst")
PARTNER_ROLES = tuple(role for role in ROLES if role != "coalition_admin")
PROGRAM_MODES = ("in_person", "hybrid", "virtual")
PROGRAM_STATUSES = ("draft", "recruiting", "matching", "running", "closed")
WEBHOOK_EVENT_TYPES = ("mentee.enrolled", "mentor.registered", "group.approved", "mentee.referred")
CHARTER_VERSION = "2026-1"


class PartnerSchema(StrictSchema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))
    sectors = fields.List(codes.isco_group(), load_default=list, validate=validate.Length(max=60))
    region = codes.region(required=True)
    hub_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    status = fields.String(dump_only=True)
    charter = fields.Dict(dump_only=True, allow_none=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class PartnerUpdateSchema(StrictSchema):
    """What a partner's own admin may change. Region and hub are the coalition admin's."""

    name = fields.String(validate=validate.Length(min=2, max=200))
    sectors = fields.List(codes.isco_group(), validate=validate.Length(max=60))


class PartnerAdminUpdateSchema(PartnerUpdateSchema):
    region = codes.region()
    hub_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class CharterSchema(StrictSchema):
    version = fields.String(required=True, validate=validate.Equal(CHARTER_VERSION, error=f"The current charter is version {CHARTER_VERSION}."))


class StaffSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    roles = fields.List(fields.String(validate=validate.OneOf(PARTNER_ROLES)), required=True, validate=validate.Length(min=1, max=4))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class StaffUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(PARTNER_ROLES)), validate=validate.Length(min=1, max=4))


class KeyCreateSchema(StrictSchema):
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True)


class KeySchema(Schema):
    id = fields.String()
    staff_id = fields.String()
    partner_id = fields.String(allow_none=True)
    prefix = fields.String()
    label = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    last_used_at = fields.AwareDateTime(allow_none=True)


class ProgramSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    occupations = fields.List(codes.isco_occupation(), load_default=list, validate=validate.Length(max=50))
    sectors = fields.List(codes.isco_group(), load_default=list, validate=validate.Length(max=60))
    group_size_min = fields.Integer(load_default=3, validate=validate.Range(min=1, max=20))
    group_size_max = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))
    planned_sessions = fields.Integer(load_default=5, validate=validate.Range(min=1, max=52))
    session_minutes = fields.Integer(load_default=120, validate=validate.Range(min=30, max=240))
    duration_weeks = fields.Integer(load_default=10, validate=validate.Range(min=8, max=52))
    max_days_between_contacts = fields.Integer(load_default=14, validate=validate.Range(min=1, max=31))
    first_check_in_days = fields.Integer(load_default=30, validate=validate.Range(min=7, max=31))
    first_check_in_sessions = fields.Integer(load_default=2, validate=validate.Range(min=1, max=5))
    match_deadline_days = fields.Integer(load_default=60, validate=validate.Range(min=7, max=365))
    referrals = fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=list, validate=validate.Length(max=20))
    mode = fields.String(load_default="hybrid", validate=validate.OneOf(PROGRAM_MODES))
    start_date = fields.Date(required=True)
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)

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
    status = fields.String(required=True, validate=validate.OneOf(PROGRAM_STATUSES))


class WebhookSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    url = fields.Url(required=True, schemes={"https"}, require_tld=False, validate=validate.Length(max=500))
    event_types = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENT_TYPES)), required=True, validate=validate.Length(min=1, max=10))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class MeSchema(Schema):
    staff = fields.Nested(StaffSchema)
    partner = fields.Nested(PartnerSchema, allow_none=True)
    roles = fields.List(fields.String())
