"""What the registry accepts and returns. Server-set fields are dump_only, so a request
body can never set them."""
from marshmallow import Schema, fields, validate

from coalition_common import codes
from coalition_common.schemas import StrictSchema

PARTNER_KINDS = ("ngo", "employer", "industry_association", "public_body", "education", "regional_hub")
ROLES = ("coalition_admin", "partner_admin", "coordinator", "recruiter", "analyst")


class PartnerSchema(StrictSchema):
    id = fields.String(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=2, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(PARTNER_KINDS))
    sectors = fields.List(codes.isco_group(), load_default=list, validate=validate.Length(max=50))
    region = codes.region(required=True)
    hub_id = fields.String(load_default=None, allow_none=True)
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
    updated_at = fields.AwareDateTime(dump_only=True)


class StaffSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    email = fields.Email(required=True)
    roles = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True, validate=validate.Length(min=1))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)


class IdentitySchema(Schema):
    staff_id = fields.String()
    partner_id = fields.String(allow_none=True)
    hub_id = fields.String(allow_none=True)
    roles = fields.List(fields.String())
    key_id = fields.String()


class MeSchema(Schema):
    staff = fields.Nested(StaffSchema)
    partner = fields.Nested(PartnerSchema, allow_none=True)
    roles = fields.List(fields.String())
