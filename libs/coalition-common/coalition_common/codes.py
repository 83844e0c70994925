"""Marshmallow fields for the standard code systems every service shares:
ISO 3166-2 regions, ISCO-08 occupation groups, ISO 639-1 languages with a CEFR level."""
import functools
import json
from importlib import resources

import pycountry
from marshmallow import ValidationError, fields, validate

from coalition_common.fields import Choice, Text, UniqueList
from coalition_common.schemas import StrictSchema

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")


@functools.cache
def isco08():
    """The ISCO-08 major and sub-major groups shipped with this package: {code: title}."""
    shipped = json.loads(resources.files("coalition_common.data").joinpath("isco08.json").read_text())
    return {**shipped["major"], **shipped["sub_major"]}


def _known_region(code):
    if pycountry.subdivisions.get(code=code) is None:
        raise ValidationError("Not an ISO 3166-2 subdivision code.")


def _known_isco_group(code):
    if code not in isco08():
        raise ValidationError("Not an ISCO-08 major or sub-major group code.")


def _known_language(code):
    if pycountry.languages.get(alpha_2=code) is None:
        raise ValidationError("Not an ISO 639-1 language code.")


def region(**kwargs):
    return Text(max=10, validate=_known_region, **kwargs)


def isco_group(**kwargs):
    """An ISCO-08 major (1 digit) or sub-major (2 digit) group, checked against the shipped list."""
    return Text(max=2, validate=_known_isco_group, **kwargs)


def isco_occupation(**kwargs):
    """An ISCO-08 code at any level (1 to 4 digits) whose major and sub-major groups exist."""

    def known_prefix(code):
        if code[:1] not in isco08() or (len(code) >= 2 and code[:2] not in isco08()):
            raise ValidationError("Not an ISCO-08 code.")

    return Text(max=4, validate=[validate.Regexp(r"^[0-9]{1,4}$", error="Not an ISCO-08 code."), known_prefix], **kwargs)


class LanguageSkill(StrictSchema):
    code = Text(required=True, validate=[validate.Length(equal=2), _known_language])
    level = Choice(CEFR_LEVELS, required=True)


def languages(**kwargs):
    """Each language once, with one level."""
    return UniqueList(fields.Nested(LanguageSkill), key=lambda skill: skill["code"], max=20, **kwargs)
