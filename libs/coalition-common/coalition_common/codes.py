"""Marshmallow fields for the standard code systems and shared grids every service uses:
ISO 3166-2 regions, ISCO-08 occupation groups, ISO 639-1 languages with a CEFR level, meeting
modes and the weekly availability grid that mentors and mentees both fill in, and the optional
self-declared gender and age band a mentee's preference can name."""
import functools
import json
from importlib import resources

import pycountry
from marshmallow import ValidationError, fields, validate

from coalition_common.fields import Choice, Text, UniqueList
from coalition_common.schemas import StrictSchema

CEFR_LEVELS = ("A1", "A2", "B1", "B2", "C1", "C2")
# A language spoken natively ranks above C2 when a minimum level is asked for.
LANGUAGE_LEVELS = CEFR_LEVELS + ("native",)
MODES = ("in_person", "virtual", "hybrid")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_PARTS = ("morning", "afternoon", "evening")
# The weekly grid as slot names, "mon_morning" to "sun_evening": one word each, so a CSV cell
# holds a grid as a list.
SLOTS = tuple(f"{day}_{part}" for day in DAYS for part in DAY_PARTS)
GENDERS = ("woman", "man", "non_binary")
AGE_BANDS = ("18-29", "30-39", "40-49", "50-59", "60+")
# What a mentee hopes the group mentoring helps with (a mentee picks any of them).
GOALS = ("job_search", "networking", "licensure", "interview_preparation", "workplace_culture", "entrepreneurship", "upskilling")
# How far a mentee's foreign credentials are recognised where they now live.
CREDENTIAL_RECOGNITION = ("recognised", "in_progress", "not_started")


def level_rank(level):
    """Order of a language level: A1 lowest, native highest."""
    return LANGUAGE_LEVELS.index(level)


def slot_mask(slots):
    """A grid as a 21-bit number, so two grids overlap when their masks share a bit."""
    mask = 0
    for slot in slots or ():
        mask |= 1 << SLOTS.index(slot)
    return mask


def slot_names(mask):
    """The slot names of a grid's mask, in grid order (slot_mask's inverse)."""
    return [slot for position, slot in enumerate(SLOTS) if (mask or 0) >> position & 1]


@functools.cache
def isco08():
    """The ISCO-08 major and sub-major groups shipped with this package: {code: title}."""
    shipped = json.loads(resources.files("coalition_common.data").joinpath("isco08.json").read_text())
    return {**shipped["major"], **shipped["sub_major"]}


def _known_region(code):
    if pycountry.subdivisions.get(code=code) is None:
        raise ValidationError("Not an ISO 3166-2 subdivision code.")


def _known_country(code):
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValidationError("Not an ISO 3166-1 alpha-2 country code.")


def _known_isco_group(code):
    if code not in isco08():
        raise ValidationError("Not an ISCO-08 major or sub-major group code.")


def _known_language(code):
    if pycountry.languages.get(alpha_2=code) is None:
        raise ValidationError("Not an ISO 639-1 language code.")


def region(**kwargs):
    return Text(max=10, validate=_known_region, **kwargs)


def country(**kwargs):
    """An ISO 3166-1 alpha-2 country code, upper case as the standard writes it ("UA", "CO")."""
    return Text(max=2, validate=[validate.Regexp(r"^[A-Z]{2}$", error="Two upper-case letters (ISO 3166-1 alpha-2)."), _known_country],
                **kwargs)


def isco_group(**kwargs):
    """An ISCO-08 major (1 digit) or sub-major (2 digit) group, checked against the shipped list."""
    return Text(max=2, validate=_known_isco_group, **kwargs)


def isco_occupation(**kwargs):
    """An ISCO-08 code at any level (1 to 4 digits) whose major and sub-major groups exist."""

    def known_prefix(code):
        if code[:1] not in isco08() or (len(code) >= 2 and code[:2] not in isco08()):
            raise ValidationError("Not an ISCO-08 code.")

    return Text(max=4, validate=[validate.Regexp(r"^[0-9]{1,4}$", error="Not an ISCO-08 code."), known_prefix], **kwargs)


def isco_unit_group(**kwargs):
    """An ISCO-08 unit group: four digits whose major and sub-major groups are in the shipped
    list (the list holds major and sub-major groups, not the 436 unit groups)."""

    def known_prefix(code):
        if code[:1] not in isco08() or code[:2] not in isco08():
            raise ValidationError("Not an ISCO-08 unit group.")

    return Text(max=4, validate=[validate.Regexp(r"^[0-9]{4}$", error="Not an ISCO-08 unit group (four digits)."), known_prefix], **kwargs)


class LanguageSkill(StrictSchema):
    # Lower case only, as ISO 639-1 writes them: "EN" and "en" must not be two languages.
    code = Text(required=True, validate=[validate.Regexp(r"^[a-z]{2}$", error="Two lower-case letters (ISO 639-1)."), _known_language])
    level = Choice(LANGUAGE_LEVELS, required=True)


def languages(**kwargs):
    """Each language once, with one level."""
    return UniqueList(fields.Nested(LanguageSkill), key=lambda skill: skill["code"], max=20, **kwargs)


def modes(**kwargs):
    return UniqueList(Choice(MODES), max=len(MODES), **kwargs)


def availability(**kwargs):
    """The weekly grid: the slots (day and part of day) when someone can meet."""
    return UniqueList(Choice(SLOTS), max=len(SLOTS), **kwargs)


def gender(**kwargs):
    return Choice(GENDERS, **kwargs)


def age_band(**kwargs):
    return Choice(AGE_BANDS, **kwargs)


def goals(**kwargs):
    """A mentee's goals: each of GOALS at most once."""
    return UniqueList(Choice(GOALS), max=len(GOALS), **kwargs)


def credential_recognition(**kwargs):
    return Choice(CREDENTIAL_RECOGNITION, **kwargs)
