"""What matching accepts and returns: the one definition, used by the service to validate and by
the gateway to validate and to write the OpenAPI document."""
from marshmallow import fields

from coalition_common import codes
from coalition_common.fields import Email, Moment, Name, Text, UniqueList
from coalition_common.schemas import StrictSchema


class MenteeSchema(StrictSchema):
    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    given_name = Name(required=True, min=1, max=100)
    family_name = Name(required=True, min=1, max=100)
    email = Email(required=True)
    occupation = codes.isco_occupation(required=True)
    region = codes.region(required=True)
    languages = codes.languages(load_default=list)
    goals = UniqueList(Text(max=500, multiline=True), load_default=list, max=10)
    consent_to_share = fields.Boolean(required=True)
    status = fields.String(dump_only=True)
    created_at = Moment(dump_only=True)
