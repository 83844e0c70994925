"""What the mentor bank accepts and returns: the one definition, used by the service to validate
and by the gateway to validate and to write the OpenAPI document."""
from marshmallow import fields

from coalition_common import codes
from coalition_common.fields import Email, Moment, Name, Whole
from coalition_common.schemas import StrictSchema


class MentorSchema(StrictSchema):
    """Names and contact details appear only for your own partner's mentors."""

    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    given_name = Name(required=True, min=1, max=100)
    family_name = Name(required=True, min=1, max=100)
    email = Email(required=True)
    occupation = codes.isco_occupation(required=True)
    region = codes.region(required=True)
    languages = codes.languages(load_default=list)
    years_experience = Whole(load_default=None, allow_none=True, min=0, max=60)
    max_groups = Whole(load_default=1, min=1, max=5)
    status = fields.String(dump_only=True)
    created_at = Moment(dump_only=True)


class ListedMentorSchema(MentorSchema):
    """A mentor as listed: other partners' pooled mentors come without names or contact details,
    so the response documents those as optional."""

    given_name = fields.String(dump_only=True)
    family_name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
