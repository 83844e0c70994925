"""What the mentor bank accepts and returns: the one definition, used by the service to validate,
by the CSV import to check each row, and by the gateway to validate and to write the OpenAPI
document."""
from marshmallow import ValidationError, fields, validate, validates, validates_schema

from coalition_common import codes
from coalition_common.fields import Choice, Email, Flag, Id, Moment, Name, Phone, Text, UniqueList, Whole
from coalition_common.ids import utcnow
from coalition_common.schemas import StrictSchema

# Personal data: shown only to the recruiting partner's staff, removed on erasure.
PERSONAL_FIELDS = ("given_name", "family_name", "email", "phone", "employer", "city", "gender", "age_band",
                   "external_id", "self_assessment", "alumni_mentee_id")
# What another partner sees of a pooled mentor (besides its id and partner).
POOLED_FIELDS = ("id", "partner_id", "occupations", "sectors", "region", "modes", "languages", "years_experience",
                 "capacity", "places_left", "eligible_now")

STATUSES = ("applicant", "screened", "trained", "active", "paused", "retired")
CHECK_RESULTS = ("pending", "clear", "failed", "not_required")
SCOPES = ("own_partner", "coalition")

# The suitability self-assessment (the seeds' "online self-assessment tool", 001): ten statements
# answered 1 (not at all) to 5 (fully); the score is the share of the best possible, 0 to 100.
QUESTIONNAIRE_VERSION = "2026-1"
QUESTIONNAIRE_ITEMS = 10


class SelfAssessmentSchema(StrictSchema):
    version = Choice((QUESTIONNAIRE_VERSION,), required=True)
    answers = fields.List(Whole(min=1, max=5), required=True,
                          validate=validate.Length(equal=QUESTIONNAIRE_ITEMS, error=f"Must answer all {QUESTIONNAIRE_ITEMS} items."))
    taken_at = Moment(required=True)
    score = Whole(dump_only=True)

    @validates("taken_at")
    def taken_before(self, value, **kwargs):
        if value > utcnow():
            raise ValidationError("Must not be in the future.")


def self_assessment_score(answers):
    return round(100 * (sum(answers) - len(answers)) / (4 * len(answers)))


class ScreeningSchema(StrictSchema):
    """The background check as recorded by the recruiting partner."""

    background_check = Choice(CHECK_RESULTS, required=True)
    checked_at = Moment(load_default=None, allow_none=True)
    expires_at = Moment(load_default=None, allow_none=True)

    @validates_schema
    def dates_fit(self, data, **kwargs):
        if data["background_check"] in ("clear", "failed") and data.get("checked_at") is None:
            raise ValidationError("Required when the check has a result.", "checked_at")
        if data.get("expires_at") and data.get("checked_at") and data["expires_at"] <= data["checked_at"]:
            raise ValidationError("Must be after checked_at.", "expires_at")


class OrientationSchema(StrictSchema):
    completed_at = Moment(required=True)


class SharingSchema(StrictSchema):
    """The mentor's own consent to sharing, as they gave it: the scope, the version of the consent
    text they were shown, and when."""

    scope = Choice(SCOPES, required=True)
    consent_text_version = Text(required=True, min=1, max=40)
    consented_at = Moment(required=True)
    recorded_at = Moment(dump_only=True)


class SharingStateSchema(StrictSchema):
    """The sharing in force, as shown: a mentor never asked yet is `own_partner` with no consent."""

    scope = fields.String(dump_only=True)
    consent_text_version = fields.String(dump_only=True, allow_none=True)
    consented_at = Moment(dump_only=True, allow_none=True)
    recorded_at = Moment(dump_only=True)


class StatusChangeSchema(StrictSchema):
    status = Choice(STATUSES, required=True)
    reason = Text(load_default=None, allow_none=True, max=500)


class MentorSchema(StrictSchema):
    """A mentor as the recruiting partner sees and writes it."""

    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    external_id = Text(load_default=None, allow_none=True, min=1, max=64)
    given_name = Name(required=True, min=1, max=100)
    family_name = Name(required=True, min=1, max=100)
    email = Email(required=True)
    phone = Phone(load_default=None, allow_none=True)
    employer = Text(load_default=None, allow_none=True, max=200)
    occupations = UniqueList(codes.isco_unit_group(), required=True, min=1, max=5)
    years_experience = Whole(required=True, min=0, max=60)
    sectors = UniqueList(codes.isco_group(), load_default=list, max=10)
    languages = codes.languages(required=True, validate=validate.Length(min=1, max=20))
    region = codes.region(required=True)
    city = Text(load_default=None, allow_none=True, max=100)
    modes = codes.modes(required=True, validate=validate.Length(min=1))
    availability = codes.availability(load_default=list)
    capacity = Whole(load_default=1, min=1, max=5)
    gender = codes.gender(load_default=None, allow_none=True)
    age_band = codes.age_band(load_default=None, allow_none=True)
    supports_communication_needs = Flag(load_default=False)
    alumni_mentee_id = Id(load_default=None, allow_none=True)
    self_assessment = fields.Nested(SelfAssessmentSchema, load_default=None, allow_none=True)

    status = fields.String(dump_only=True)
    screening = fields.Nested(ScreeningSchema, dump_only=True, allow_none=True)
    orientation = fields.Nested(OrientationSchema, dump_only=True, allow_none=True)
    sharing = fields.Nested(SharingStateSchema, dump_only=True)
    places_left = fields.Integer(dump_only=True)
    eligible_now = fields.Boolean(dump_only=True)
    version = fields.Integer(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True)


class MentorUpdateSchema(MentorSchema):
    """Every profile field is optional on update; status, screening, orientation and sharing move
    only through their own actions."""

    class Meta(StrictSchema.Meta):
        pass

    def __init__(self, **kwargs):
        # Top-level fields only: a language given must still have its code and level.
        super().__init__(partial=tuple(MentorSchema._declared_fields), **kwargs)


class MentorReadSchema(MentorSchema):
    """One mentor as read: the full profile for your own partner's; for another partner's pooled
    mentor only the pooled fields, so every field here is optional."""

    given_name = fields.String(dump_only=True)
    family_name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    occupations = fields.List(fields.String(), dump_only=True)
    years_experience = fields.Integer(dump_only=True)
    languages = fields.List(fields.Nested(codes.LanguageSkill), dump_only=True)
    region = fields.String(dump_only=True)
    modes = fields.List(fields.String(), dump_only=True)


class SharingHistorySchema(StrictSchema):
    items = fields.List(fields.Nested(SharingSchema), dump_only=True)


class ErasedSchema(StrictSchema):
    id = fields.String(dump_only=True)
    erased = fields.Boolean(dump_only=True)


class PooledMentorSchema(StrictSchema):
    """A mentor as search shows it: pooled fields only, for every partner alike, the recruiting
    partner included (names and contact details are read one mentor at a time)."""

    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    own = fields.Boolean(dump_only=True, metadata={"description": "Recruited by your own partner."})
    occupations = fields.List(fields.String(), dump_only=True)
    sectors = fields.List(fields.String(), dump_only=True)
    region = fields.String(dump_only=True)
    modes = fields.List(fields.String(), dump_only=True)
    languages = fields.List(fields.Nested(codes.LanguageSkill), dump_only=True)
    years_experience = fields.Integer(dump_only=True)
    capacity = fields.Integer(dump_only=True)
    places_left = fields.Integer(dump_only=True)
    eligible_now = fields.Boolean(dump_only=True)


class SlotList(fields.String):
    """Slots of the weekly grid, comma-separated in a query string (or a list, from the gateway)."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not items or len(items) > len(codes.SLOTS) or any(i not in codes.SLOTS for i in items):
            raise ValidationError("Comma-separated slots such as mon_morning,tue_evening.")
        return items


class SearchQuerySchema(StrictSchema):
    """Search filters; every one given must hold."""

    isco = Text(load_default=None, validate=validate.Regexp(r"^[0-9]{1,4}$", error="One to four digits of an ISCO-08 code."),
                metadata={"description": "ISCO-08 code prefix: 2 finds every professional, 2221 nurses."})
    sector = codes.isco_group(load_default=None)
    language = Text(load_default=None, validate=validate.Regexp(r"^[a-z]{2}$", error="An ISO 639-1 code."))
    min_level = Choice(codes.LANGUAGE_LEVELS, load_default=None, metadata={"description": "With language: at least this level."})
    region = codes.region(load_default=None)
    mode = Choice(codes.MODES, load_default=None)
    available = SlotList(load_default=None, metadata={"description": "Comma-separated slots (mon_morning … sun_evening); mentors free in at least one of them."})
    has_capacity = fields.Boolean(load_default=None)
    eligible_now = fields.Boolean(load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    # A query string's digits: a plain Integer, as in every other page query.
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))

    @validates_schema
    def level_needs_language(self, data, **kwargs):
        if data.get("min_level") and not data.get("language"):
            raise ValidationError("Only with language.", "min_level")
