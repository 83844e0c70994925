"""What the mentor bank accepts and returns."""
from marshmallow import fields, validate

from coalition_common import codes
from coalition_common.schemas import StrictSchema


class MentorSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    given_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    family_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    email = fields.Email(required=True)
    occupation = codes.isco_occupation(required=True)
    region = codes.region(required=True)
    languages = codes.languages(load_default=list)
    years_experience = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=60))
    max_groups = fields.Integer(load_default=1, validate=validate.Range(min=1, max=5))
    status = fields.String(dump_only=True)
    created_at = fields.AwareDateTime(dump_only=True)
