"""Mentee intake: the people a partner takes in for group mentoring, their admission, withdrawal
and erasure, enrolment in one of the partner's programmes, and CSV import of a cohort. Only the
partner that took a mentee in reads or changes it; any other caller gets 404.

The import routes sit under /api/v1/mentees beside `/<mentee_id>`: werkzeug tries fixed path
segments before variable ones, so `/imports` never reaches a mentee route as an id."""
from flask import Response, current_app
from flask_smorest import Blueprint

from gateway.api.common import as_caller, expected_version, page_of, versioned
from gateway.api.mentor_imports import CSV_ANSWER, CSV_BODY, uploaded_text
from gateway.auth import allowed, current_identity
from matching import mentee_imports
from matching.schemas import (AdmissionSchema, ProgramEnrolmentSchema, MenteeErasedSchema, MenteeImportSchema, MenteeQuerySchema, MenteeReadSchema,
                              MenteeSchema, MenteeUpdateSchema, WithdrawalSchema)

bp = Blueprint("mentees", __name__, url_prefix="/api/v1/mentees", description="Mentee intake (your own partner's mentees)")
programs_bp = Blueprint("program_mentees", __name__, url_prefix="/api/v1/programs", description="Enrolment in a programme")

# Checking and writing up to 2,000 mentees at once.
IMPORT_TIMEOUT = 60


@bp.route("", methods=["GET"])
@allowed("mentee.list")
@bp.arguments(MenteeQuerySchema, location="query")
@bp.response(200, page_of(MenteeReadSchema))
def list_mentees(query):
    """Your own partner's mentees, filtered by status, programme, target occupation (ISCO-08
    prefix) and region, oldest first."""
    return as_caller("matching", "list_mentees", query)


@bp.route("", methods=["POST"])
@allowed("mentee.create")
@bp.arguments(MenteeSchema)
@bp.response(201, MenteeReadSchema)
def create_mentee(fields):
    """Take a mentee in at your own partner. Consent to processing (`consent`: the text version
    and when it was given) is required. They start `waiting`, in no programme yet."""
    return versioned(as_caller("matching", "create_mentee", fields))


@bp.route("/<string:mentee_id>", methods=["GET"])
@allowed("mentee.read")
@bp.response(200, MenteeReadSchema)
def read_mentee(mentee_id):
    """One mentee of your own partner, with an ETag."""
    return versioned(as_caller("matching", "read_mentee", mentee_id))


@bp.route("/<string:mentee_id>", methods=["PATCH"])
@allowed("mentee.update")
@bp.arguments(MenteeUpdateSchema)
@bp.response(200, MenteeReadSchema)
def update_mentee(fields, mentee_id):
    """Change profile fields (not status, programme or admission, which have their own actions).
    Send `If-Match` with the ETag you read to refuse (412) a change based on a stale copy."""
    return versioned(as_caller("matching", "update_mentee", mentee_id, fields, expected_version()))


@bp.route("/<string:mentee_id>", methods=["DELETE"])
@allowed("mentee.erase")
@bp.response(200, MenteeErasedSchema)
def erase_mentee(mentee_id):
    """Erase the person irreversibly. A tombstone with the pseudonymous id, partner, programme
    and status stays, so counts already reported stay consistent."""
    erased = as_caller("matching", "erase_mentee", mentee_id)
    return {"id": erased["id"], "erased": erased["erased"]}


@bp.route("/<string:mentee_id>/admission", methods=["POST"])
@allowed("mentee.admit")
@bp.arguments(AdmissionSchema)
@bp.response(200, MenteeReadSchema)
def admit_mentee(fields, mentee_id):
    """Record the admission decision (`admitted_at`, now when not given), once."""
    return versioned(as_caller("matching", "admit_mentee", mentee_id, fields))


@bp.route("/<string:mentee_id>/withdrawal", methods=["POST"])
@allowed("mentee.withdraw")
@bp.arguments(WithdrawalSchema)
@bp.response(200, MenteeReadSchema)
def withdraw_mentee(fields, mentee_id):
    """The mentee leaves, with a reason code; a proposed mentee leaves the proposal."""
    return versioned(as_caller("matching", "withdraw_mentee", mentee_id, fields))


IMPORT_DESCRIPTION = f"""Import a cohort of mentees from a CSV file with the template's columns
(GET /api/v1/mentees/imports/template), as the multipart field `file` or a `text/csv` body, in UTF-8.

All or nothing: every row is checked first; on any fault nothing is written and the answer is 422
listing the faults in `errors` as `{{"row 7": {{"email": [message]}}}}` (data rows count from 1; row 0
is the header). A row whose email your partner already has, or which repeats another row, is a
fault. Up to {mentee_imports.MAX_BYTES // (1024 * 1024)} MB and {mentee_imports.MAX_ROWS} rows (413 beyond).
Imported at once (201). Uploading the same file again writes nothing and answers the same import."""


@bp.route("/imports", methods=["POST"])
@allowed("mentee.import")
@bp.doc(requestBody=CSV_BODY, description=IMPORT_DESCRIPTION)
@bp.response(201, MenteeImportSchema)
def import_mentees():
    """Import mentees from a CSV file."""
    job = current_app.extensions["rpc"].call("matching", "import_mentees", uploaded_text(mentee_imports.MAX_BYTES),
                                             identity=current_identity(), timeout=IMPORT_TIMEOUT)
    return job, 201, {"Location": f"{bp.url_prefix}/imports/{job['id']}"}


@bp.route("/imports/template", methods=["GET"])
@allowed("mentee.import")
@bp.doc(responses=CSV_ANSWER, description="The CSV header and one example row. Columns:\n\n" + mentee_imports.documentation())
def import_template():
    """The mentee import template."""
    return Response(mentee_imports.template(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="mentees-template.csv"'})


@bp.route("/imports/<string:mentee_import_id>", methods=["GET"])
@allowed("mentee.import")
@bp.response(200, MenteeImportSchema)
def read_import(mentee_import_id):
    """An import of your own partner's: its rows and the mentees it created."""
    return as_caller("matching", "read_mentee_import", mentee_import_id)


@programs_bp.route("/<string:program_id>/mentees", methods=["POST"])
@allowed("mentee.enrol")
@programs_bp.arguments(ProgramEnrolmentSchema)
@programs_bp.response(200, MenteeReadSchema)
def enrol_mentee(fields, program_id):
    """Enrol one of your partner's waiting mentees in one of your partner's programmes (not a
    closed one). Another partner's programme or mentee answers 404."""
    # The matching service reads the programme from the registry as the caller: hub staff may
    # read their members' programmes, but enrolment is for the programme's own partner.
    return versioned(as_caller("matching", "enrol_mentee", fields["mentee_id"], program_id))
