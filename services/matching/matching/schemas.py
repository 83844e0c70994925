"""What matching accepts and returns: the one definition, used by the service to validate, by
the mentee CSV import to check each row, and by the gateway to validate and to write the OpenAPI
document."""
from marshmallow import ValidationError, fields, validate

from coalition_common import codes
from coalition_common.fields import Choice, Email, Flag, Id, Moment, Name, Phone, Text, Whole
from coalition_common.ids import utcnow
from coalition_common.schemas import StrictSchema

# Personal data: shown only to the owning partner's staff, never in events, instances or logs,
# emptied on erasure.
PERSONAL_FIELDS = ("given_name", "family_name", "email", "phone", "city")
# Waiting for a group, proposed for one, matched into an approved group, or withdrawn. Moved by
# actions only (admission, withdrawal) and by matching runs and review (mentees.move_status).
STATUSES = ("waiting", "proposed", "matched", "withdrawn")
WITHDRAWAL_REASONS = ("found_work", "moved_away", "no_longer_interested", "unreachable", "referred_elsewhere", "other")


def _not_in_future(value):
    if value > utcnow():
        raise ValidationError("Must not be in the future.")


class ConsentSchema(StrictSchema):
    """The mentee's consent to the processing of their data: the version of the consent text they
    were shown and when they gave it. Without it, intake is refused."""

    version = Text(required=True, min=1, max=40)
    given_at = Moment(required=True, validate=_not_in_future)


class PreferencesSchema(StrictSchema):
    """What the mentee would prefer in a mentor; each optional, scored, never a hard rule."""

    mentor_gender = codes.gender(allow_none=True)
    mentor_age_band = codes.age_band(allow_none=True)


class MenteeSchema(StrictSchema):
    """A mentee as the owning partner writes and sees it."""

    id = fields.String(dump_only=True)
    partner_id = fields.String(dump_only=True)
    program_id = fields.String(dump_only=True, allow_none=True, metadata={"description": "Set by enrolment in a programme."})
    given_name = Name(required=True, min=1, max=100)
    family_name = Name(required=True, min=1, max=100)
    email = Email(required=True)
    phone = Phone(load_default=None, allow_none=True)
    country_trained = codes.country(required=True, metadata={"description": "Where the mentee trained (ISO 3166-1 alpha-2)."})
    occupation = codes.isco_unit_group(required=True, metadata={"description": "Current or last occupation (ISCO-08 unit group)."})
    target_occupation = codes.isco_unit_group(required=True, metadata={"description": "The occupation sought (ISCO-08 unit group)."})
    years_experience = Whole(required=True, min=0, max=60)
    credential_recognition = codes.credential_recognition(required=True)
    languages = codes.languages(required=True, validate=validate.Length(min=1, max=20))
    region = codes.region(required=True)
    city = Text(load_default=None, allow_none=True, max=100)
    modes = codes.modes(required=True, validate=validate.Length(min=1))
    availability = codes.availability(load_default=list)
    goals = codes.goals(load_default=list)
    preferences = fields.Nested(PreferencesSchema, load_default=dict)
    needs_communication_support = Flag(load_default=False)
    consent = fields.Nested(ConsentSchema, required=True)
    applied_at = Moment(load_default=None, validate=_not_in_future, metadata={"description": "When they applied; now when not given."})

    admitted_at = Moment(dump_only=True, allow_none=True)
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    group_id = fields.String(dump_only=True, allow_none=True)
    withdrawal_reason = fields.String(dump_only=True, allow_none=True)
    version = fields.Integer(dump_only=True)
    created_at = Moment(dump_only=True)
    updated_at = Moment(dump_only=True)


class MenteeUpdateSchema(MenteeSchema):
    """Every profile field is optional on update; status, programme and admission move only
    through their own actions."""

    class Meta(StrictSchema.Meta):
        pass

    def __init__(self, **kwargs):
        # Top-level fields only: a consent given must still have its version and time.
        super().__init__(partial=tuple(MenteeSchema._declared_fields), **kwargs)


class MenteeReadSchema(MenteeSchema):
    """A mentee as read (only ever by the owning partner): every field as stored, none required."""

    given_name = fields.String(dump_only=True)
    family_name = fields.String(dump_only=True)
    email = fields.String(dump_only=True)
    phone = fields.String(dump_only=True, allow_none=True)
    country_trained = fields.String(dump_only=True)
    occupation = fields.String(dump_only=True)
    target_occupation = fields.String(dump_only=True)
    years_experience = fields.Integer(dump_only=True)
    credential_recognition = fields.String(dump_only=True)
    languages = fields.List(fields.Nested(codes.LanguageSkill), dump_only=True)
    region = fields.String(dump_only=True)
    city = fields.String(dump_only=True, allow_none=True)
    modes = fields.List(fields.String(), dump_only=True)
    availability = fields.List(fields.String(), dump_only=True)
    goals = fields.List(fields.String(), dump_only=True)
    preferences = fields.Nested(PreferencesSchema, dump_only=True)
    needs_communication_support = fields.Boolean(dump_only=True)
    consent = fields.Nested(ConsentSchema, dump_only=True)
    applied_at = Moment(dump_only=True)


class AdmissionSchema(StrictSchema):
    """The admission decision: the mentee is accepted into the programme's waiting list."""

    admitted_at = Moment(load_default=None, validate=_not_in_future, metadata={"description": "Now when not given."})


class WithdrawalSchema(StrictSchema):
    reason = Choice(WITHDRAWAL_REASONS, required=True)


class ProgramEnrolmentSchema(StrictSchema):
    mentee_id = Id(required=True)


class MenteeErasedSchema(StrictSchema):
    id = fields.String(dump_only=True)
    erased = fields.Boolean(dump_only=True)


class MenteeQuerySchema(StrictSchema):
    """List filters; every one given must hold."""

    status = Choice(STATUSES, load_default=None)
    program_id = Id(load_default=None)
    target_occupation = Text(load_default=None, validate=validate.Regexp(r"^[0-9]{1,4}$", error="One to four digits of an ISCO-08 code."),
                             metadata={"description": "ISCO-08 code prefix: 2 finds every professional, 2142 civil engineers."})
    region = codes.region(load_default=None)
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class MenteeImportSchema(StrictSchema):
    """A mentee import (synchronous): how many rows, and the mentees it created."""

    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["writing", "done"]})
    rows_total = fields.Integer(dump_only=True)
    rows_created = fields.Integer(dump_only=True)
    mentee_ids = fields.List(fields.String(), dump_only=True, metadata={"description": "In row order."})
    created_at = Moment(dump_only=True)
    finished_at = Moment(dump_only=True, allow_none=True)
