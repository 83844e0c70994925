"""Marshmallow fields for the standard code systems every service shares:
ISO 3166-2 regions, ISCO-08 occupation groups, ISO 639-1 languages with a CEFR level."""
import functools
import json
from importlib import resources

import pycountry
from marshmallow import ValidationError, fields, validate

from coalition_common.schemas import StrictSchema

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


@functools.cache
def isco08():
    """The ISCO-08 major and sub-major groups shipped with this package: {code: title}."""
    shipped = json.loads(resources.files("coalition_common.data").joinpath("isco08.json").read_text())
    return {**shipped["major"], **shipped["sub_major"]}


def _known_region(code):
    if not isinstance(code, str) or pycountry.subdivisions.get(code=code) is None:
        raise ValidationError("Not an ISO 3166-2 subdivision code.")


def _known_isco_group(code):
    if code not in isco08():
        raise ValidationError("Not an ISCO-08 major or sub-major group code.")


def _known_language(code):
    if pycountry.languages.get(alpha_2=code) is None:
        raise ValidationError("Not an ISO 639-1 language code.")


def region(**kwargs):
    return fields.String(validate=[validate.Length(max=10), _known_region], **kwargs)


def isco_group(**kwargs):
    """An ISCO-08 major (1 digit) or sub-major (2 digit) group, checked against the shipped list."""
    return fields.String(validate=[validate.Length(max=2), _known_isco_group], **kwargs)


def isco_occupation(**kwargs):
    """An ISCO-08 code at any level (1 to 4 digits) whose major and sub-major groups exist."""

    def known_prefix(code):
        if code[:1] not in isco08() or (len(code) >= 2 and code[:2] not in isco08()):
            raise ValidationError("Not an ISCO-08 code.")

    return fields.String(
        validate=[validate.Regexp(r"^[0-9]{1,4}$", error="Not an ISCO-08 code."), known_prefix], **kwargs
    )


class LanguageSkill(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(equal=2), _known_language])
    level = fields.String(required=True, validate=validate.OneOf(CEFR_LEVELS))


def languages(**kwargs):
    return fields.List(fields.Nested(LanguageSkill), validate=validate.Length(max=20), **kwargs)
