"""Response and request shapes of the HTTP API, from which the OpenAPI document is generated."""
from marshmallow import Schema, fields


class PartnerSummary(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.String()
    region = fields.String()
    sectors = fields.List(fields.String())
    hub_id = fields.String(allow_none=True)
    status = fields.String()


class StaffSummary(Schema):
    id = fields.String()
    partner_id = fields.String(allow_none=True)
    name = fields.String()
    email = fields.String()
    roles = fields.List(fields.String())
    status = fields.String()


class Me(Schema):
    staff = fields.Nested(StaffSummary)
    partner = fields.Nested(PartnerSummary, allow_none=True)
    roles = fields.List(fields.String())
