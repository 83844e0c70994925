"""Shapes of the HTTP API, from which the OpenAPI document is generated. Request schemas list
only what a caller may set; everything the server sets is response-only."""
from marshmallow import Schema, fields, validate

from coalition_common import codes
from coalition_common.schemas import StrictSchema
from gateway.api.common import PageQuery

PARTNER_KINDS = ("ngo", "employer", "industry_association", "public_body", "education", "regional_hub")
PARTNER_ROLES = ("partner_admin", "coordinator", "recruiter", "analyst")
PROGRAM_MODES = ("in_person", "hybrid", "virtual")
PROGRAM_STATUSES = ("draft", "recruiting", "matching", "running", "closed")
WEBHOOK_EVENT_TYPES = ("mentee.enrolled", "mentor.registered", "group.approved", "mentee.referred")


class Charter(Schema):
    partner_id = fields.String()
    current_version = fields.String()
    accepted = fields.Boolean()
    version = fields.String(allow_none=True)
    accepted_at = fields.String(allow_none=True)
    accepted_by = fields.String(allow_none=True)


class Partner(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    region = fields.String()
    sectors = fields.List(fields.String())
    hub_id = fields.String(allow_none=True)
    status = fields.String()
    charter = fields.Dict(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class PartnerCreate(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))
    sectors = fields.List(codes.isco_group(), validate=validate.Length(max=60))
    region = codes.region(required=True)
    hub_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class PartnerUpdate(StrictSchema):
    """Partner admins change name and sectors; region and hub are the coalition admin's."""

    name = fields.String(validate=validate.Length(min=2, max=200))
    sectors = fields.List(codes.isco_group(), validate=validate.Length(max=60))
    region = codes.region()
    hub_id = fields.String(allow_none=True, validate=validate.Length(max=64))


class CharterAccept(StrictSchema):
    version = fields.String(required=True, validate=validate.Length(max=20))


class Staff(Schema):
    id = fields.String()
    partner_id = fields.String(allow_none=True)
    name = fields.String()
    email = fields.String()
    roles = fields.List(fields.String())
    status = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class NewStaff(Staff):
    enrolment_token = fields.String(metadata={"description": "Single use, valid 72 h, shown once: the new staff member exchanges it at POST /api/v1/enrolments for their first key."})
    enrolment_expires_at = fields.String()


class StaffCreate(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    roles = fields.List(fields.String(validate=validate.OneOf(PARTNER_ROLES)), required=True, validate=validate.Length(min=1, max=4))


class StaffUpdate(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))
    roles = fields.List(fields.String(validate=validate.OneOf(PARTNER_ROLES)), validate=validate.Length(min=1, max=4))


class Key(Schema):
    id = fields.String()
    staff_id = fields.String()
    partner_id = fields.String(allow_none=True)
    prefix = fields.String()
    label = fields.String(allow_none=True)
    created_at = fields.String()
    expires_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)
    last_used_at = fields.String(allow_none=True)


class NewKey(Key):
    key = fields.String(metadata={"description": "The key itself. Shown once; only its hash is stored."})


class KeyCreate(StrictSchema):
    label = fields.String(allow_none=True, validate=validate.Length(max=100))
    expires_at = fields.AwareDateTime(allow_none=True)


class Enrolment(Schema):
    staff_id = fields.String()
    enrolment_token = fields.String(metadata={"description": "Single use, shown once; only its hash is stored."})
    enrolment_expires_at = fields.String()


class EnrolmentExchange(KeyCreate):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Program(Schema):
    id = fields.String()
    partner_id = fields.String()
    name = fields.String()
    occupations = fields.List(fields.String())
    sectors = fields.List(fields.String())
    group_size_min = fields.Integer()
    group_size_max = fields.Integer()
    planned_sessions = fields.Integer()
    session_minutes = fields.Integer()
    duration_weeks = fields.Integer()
    max_days_between_contacts = fields.Integer()
    first_check_in_days = fields.Integer()
    first_check_in_sessions = fields.Integer()
    match_deadline_days = fields.Integer()
    referrals = fields.List(fields.String())
    mode = fields.String()
    start_date = fields.String()
    status = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


class ProgramFields(StrictSchema):
    name = fields.String(validate=validate.Length(min=2, max=200))
    occupations = fields.List(codes.isco_occupation(), validate=validate.Length(max=50))
    sectors = fields.List(codes.isco_group(), validate=validate.Length(max=60))
    group_size_min = fields.Integer(validate=validate.Range(min=1, max=20), metadata={"description": "Mentees per mentor, at least. Default 3."})
    group_size_max = fields.Integer(validate=validate.Range(min=1, max=20), metadata={"description": "Mentees per mentor, at most. Default 5."})
    planned_sessions = fields.Integer(validate=validate.Range(min=1, max=52), metadata={"description": "Default 5."})
    session_minutes = fields.Integer(validate=validate.Range(min=30, max=240), metadata={"description": "Default 120."})
    duration_weeks = fields.Integer(validate=validate.Range(min=8, max=52), metadata={"description": "8 to 52, default 10."})
    max_days_between_contacts = fields.Integer(validate=validate.Range(min=1, max=31), metadata={"description": "Default 14."})
    first_check_in_days = fields.Integer(validate=validate.Range(min=7, max=31), metadata={"description": "Default 30."})
    first_check_in_sessions = fields.Integer(validate=validate.Range(min=1, max=5), metadata={"description": "Default 2."})
    match_deadline_days = fields.Integer(validate=validate.Range(min=7, max=365), metadata={"description": "Default 60."})
    referrals = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=20))
    mode = fields.String(validate=validate.OneOf(PROGRAM_MODES))
    start_date = fields.Date()


class ProgramCreate(ProgramFields):
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    start_date = fields.Date(required=True)


class ProgramTransition(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(PROGRAM_STATUSES))


class AuditEntry(Schema):
    id = fields.String()
    at = fields.String()
    action = fields.String()
    actor_staff_id = fields.String(allow_none=True)
    actor_partner_id = fields.String(allow_none=True)
    target_type = fields.String()
    target_id = fields.String(allow_none=True)
    partner_id = fields.String(allow_none=True)
    details = fields.Dict()


class AuditQuery(PageQuery):
    action = fields.String(load_default=None, validate=validate.Length(max=50))


class Webhook(Schema):
    id = fields.String()
    partner_id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    status = fields.String()
    created_at = fields.String()


class NewWebhook(Webhook):
    secret = fields.String(metadata={"description": "HMAC-SHA256 signing secret. Shown once."})


class WebhookCreate(StrictSchema):
    url = fields.Url(required=True, schemes={"https"}, require_tld=False, validate=validate.Length(max=500))
    event_types = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_EVENT_TYPES)), required=True, validate=validate.Length(min=1, max=10))


class Delivery(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String()
    delivered_at = fields.String(allow_none=True)


class Me(Schema):
    staff = fields.Nested(Staff)
    partner = fields.Nested(Partner, allow_none=True)
    roles = fields.List(fields.String())
