"""Programmes: a partner's cohorts."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, expected_version, page_of, versioned
from registry.schemas import ProgramSchema, ProgramTransitionSchema, ProgramUpdateSchema
from gateway.auth import allowed

bp = Blueprint("programs", __name__, url_prefix="/api/v1/programs", description="Programmes (a partner's cohorts)")


@bp.route("", methods=["GET"])
@allowed("program.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(ProgramSchema))
def list_programs(query):
    """Programmes of the partners the caller may see."""
    return as_caller("registry", "list_programs", query["cursor"], query["limit"])


@bp.route("", methods=["POST"])
@allowed("program.create")
@bp.arguments(ProgramSchema)
@bp.response(201, ProgramSchema)
def create_program(fields):
    """Create a programme for your own partner, in `draft`. Unset fields take the defaults of
    the quality criteria: groups of 3 to 5 mentees, 5 sessions of 2 hours over 10 weeks, contact
    at least every 14 days, first check-in after 30 days or 2 sessions, referral after 60 days."""
    return as_caller("registry", "create_program", fields)


@bp.route("/<string:program_id>", methods=["GET"])
@allowed("program.read")
@bp.response(200, ProgramSchema)
def get_program(program_id):
    """One programme."""
    return versioned(as_caller("registry", "get_program", program_id))


@bp.route("/<string:program_id>", methods=["PATCH"])
@allowed("program.update")
@bp.arguments(ProgramUpdateSchema)
@bp.response(200, ProgramSchema)
def update_program(fields, program_id):
    """Change a programme's settings (not its status, which has its own action). Send `If-Match`
    with the ETag you read to refuse (412) a change based on a stale copy."""
    return versioned(as_caller("registry", "update_program", program_id, fields, expected_version()))


@bp.route("/<string:program_id>", methods=["DELETE"])
@allowed("program.delete")
@bp.response(204)
def delete_program(program_id):
    """Delete a programme that is still a draft."""
    as_caller("registry", "delete_program", program_id)


@bp.route("/<string:program_id>/status", methods=["POST"])
@allowed("program.transition")
@bp.arguments(ProgramTransitionSchema)
@bp.response(200, ProgramSchema)
def transition_program(fields, program_id):
    """Move a programme one step on (draft → recruiting → matching → running → closed), or close it early."""
    return as_caller("registry", "transition_program", program_id, fields)
