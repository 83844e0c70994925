"""The shared mentor bank: search for coordinators, profiles and their lifecycle for the
recruiting partner."""
from flask_smorest import Blueprint

from gateway.api.common import as_caller, expected_version, page_of, versioned
from gateway.auth import allowed
from mentor_bank.schemas import (ErasedSchema, MentorReadSchema, MentorSchema, MentorUpdateSchema, OrientationSchema, PooledMentorSchema,
                                 ScreeningSchema, SearchQuerySchema, SharingHistorySchema, SharingSchema, StatusChangeSchema)

bp = Blueprint("mentors", __name__, url_prefix="/api/v1/mentors", description="The shared mentor bank")


@bp.route("", methods=["GET"])
@allowed("mentor.list")
@bp.arguments(SearchQuerySchema, location="query")
@bp.response(200, page_of(PooledMentorSchema))
def search_mentors(query):
    """Search the mentors you may see: your own partner's, and, once your partner has accepted the
    charter, the mentors of other charter partners who consented to coalition sharing. Every
    result is a card of pooled fields; read one mentor for your own partner's full profile."""
    return as_caller("mentor_bank", "search_mentors", query)


@bp.route("", methods=["POST"])
@allowed("mentor.register")
@bp.arguments(MentorSchema)
@bp.response(201, MentorSchema)
def register_mentor(fields):
    """Register a mentor recruited by your own partner. They start as an `applicant`, shared with
    your own partner only until they consent to coalition sharing."""
    return versioned(as_caller("mentor_bank", "register_mentor", fields))


@bp.route("/<string:mentor_id>", methods=["GET"])
@allowed("mentor.read")
@bp.response(200, MentorReadSchema)
def read_mentor(mentor_id):
    """One mentor: the full profile (with an ETag) for your own partner's, the pooled card for
    another's."""
    mentor = as_caller("mentor_bank", "read_mentor", mentor_id)
    return versioned(mentor) if "version" in mentor else mentor


@bp.route("/<string:mentor_id>", methods=["PATCH"])
@allowed("mentor.update")
@bp.arguments(MentorUpdateSchema)
@bp.response(200, MentorSchema)
def update_mentor(fields, mentor_id):
    """Change profile fields. Send `If-Match` with the ETag you read to refuse (412) a change
    based on a stale copy."""
    return versioned(as_caller("mentor_bank", "update_mentor", mentor_id, fields, expected_version()))


@bp.route("/<string:mentor_id>", methods=["DELETE"])
@allowed("mentor.erase")
@bp.response(200, ErasedSchema)
def erase_mentor(mentor_id):
    """Erase the person irreversibly. A tombstone with the pseudonymous id stays, so counts
    already reported stay consistent."""
    return as_caller("mentor_bank", "erase_mentor", mentor_id)


@bp.route("/<string:mentor_id>/status", methods=["POST"])
@allowed("mentor.transition")
@bp.arguments(StatusChangeSchema)
@bp.response(200, MentorSchema)
def change_status(fields, mentor_id):
    """Move the mentor on: applicant → screened (valid check) → trained (orientation) → active ↔
    paused; retired from any state."""
    return versioned(as_caller("mentor_bank", "change_status", mentor_id, fields))


@bp.route("/<string:mentor_id>/screening", methods=["PUT"])
@allowed("mentor.screening")
@bp.arguments(ScreeningSchema)
@bp.response(200, MentorSchema)
def record_screening(fields, mentor_id):
    """Record the background check. A failed or expired check makes the mentor ineligible for new
    groups at once."""
    return versioned(as_caller("mentor_bank", "record_screening", mentor_id, fields))


@bp.route("/<string:mentor_id>/orientation", methods=["PUT"])
@allowed("mentor.orientation")
@bp.arguments(OrientationSchema)
@bp.response(200, MentorSchema)
def record_orientation(fields, mentor_id):
    """Record that the mentor completed orientation (required before `active`)."""
    return versioned(as_caller("mentor_bank", "record_orientation", mentor_id, fields))


@bp.route("/<string:mentor_id>/sharing", methods=["PUT"])
@allowed("mentor.sharing")
@bp.arguments(SharingSchema)
@bp.response(200, MentorSchema)
def change_sharing(fields, mentor_id):
    """Record the mentor's consent to sharing (`coalition`) or its withdrawal (`own_partner`),
    with the consent text version and when they gave it. Withdrawal holds for new matches at once."""
    return versioned(as_caller("mentor_bank", "change_sharing", mentor_id, fields))


@bp.route("/<string:mentor_id>/sharing", methods=["GET"])
@allowed("mentor.sharing")
@bp.response(200, SharingHistorySchema)
def sharing_history(mentor_id):
    """Every consent change, oldest first."""
    return as_caller("mentor_bank", "sharing_history", mentor_id)
