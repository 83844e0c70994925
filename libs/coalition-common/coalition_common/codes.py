"""Marshmallow fields for the standard code systems every service shares:
ISO 3166-2 regions, ISCO-08 occupation groups, ISO 639-1 languages with a CEFR level."""
from marshmallow import fields, validate

from coalition_common.schemas import StrictSchema

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


def region(**kwargs):
    return fields.String(validate=validate.Regexp(r"^[A-Z]{2}-[A-Z0-9]{1,3}$", error="Not an ISO 3166-2 code."), **kwargs)


def isco_group(**kwargs):
    """An ISCO-08 major (1 digit) or sub-major (2 digit) group."""
    return fields.String(validate=validate.Regexp(r"^[0-9]{1,2}$", error="Not an ISCO-08 major or sub-major code."), **kwargs)


def isco_occupation(**kwargs):
    """An ISCO-08 code at any level: major, sub-major, minor or unit group (1 to 4 digits)."""
    return fields.String(validate=validate.Regexp(r"^[0-9]{1,4}$", error="Not an ISCO-08 code."), **kwargs)


class LanguageSkill(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z]{2}$", error="Not an ISO 639-1 code."))
    level = fields.String(required=True, validate=validate.OneOf(CEFR_LEVELS))


def languages(**kwargs):
    return fields.List(fields.Nested(LanguageSkill), validate=validate.Length(max=20), **kwargs)
