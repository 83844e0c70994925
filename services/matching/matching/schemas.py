"""What matching accepts and returns."""
from marshmallow import fields, validate

from coalition_common import codes
from coalition_common.schemas import StrictSchema


class MenteeSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True)
    occupation = codes.isco_occupation(required=True)
    region = codes.region(required=True)
    languages = codes.languages(load_default=list)
    goals = fields.List(fields.String(validate=validate.Length(max=500)), load_default=list, validate=validate.Length(max=10))
    consent_to_share = fields.Boolean(required=True)
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
