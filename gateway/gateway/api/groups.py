"""Review of a matching run's proposals: four eyes before a proposal becomes a group."""
from flask_smorest import Blueprint

from gateway.api.common import as_caller, expected_version, page_of, versioned
from gateway.auth import allowed
from matching.group_schemas import DecisionSchema, GroupMoveSchema, GroupQuerySchema, GroupSchema, MenteeMoveSchema, MentorSwapSchema

bp = Blueprint("groups", __name__, url_prefix="/api/v1/groups",
               description="Proposals of matching runs, their review by two staff members, and the groups they become")


@bp.route("", methods=["GET"])
@allowed("group.list")
@bp.arguments(GroupQuerySchema, location="query")
@bp.response(200, page_of(GroupSchema))
def list_groups(query):
    """Your own partner's proposals and groups, by programme, run and status."""
    return as_caller("matching", "list_groups", query)


@bp.route("/<string:group_id>", methods=["GET"])
@allowed("group.read")
@bp.response(200, GroupSchema)
def read_group(group_id):
    """One proposal or group with its explanation: the mentor (by id; the mentor routes show the
    pooled card), the mentees (by id; the mentee routes show them to your partner), what they
    share, the rule set and the score of each member broken down by criterion."""
    return versioned(as_caller("matching", "read_group", group_id))


@bp.route("/<string:group_id>/approvals", methods=["POST"])
@allowed("group.approve")
@bp.arguments(DecisionSchema, required=False)
@bp.response(200, GroupSchema)
def approve_group(_body, group_id):
    """Approve a proposal. Two different staff members of the programme's partner must approve it
    (the same person twice: 409). The first approval holds one of the mentor's places; the
    second confirms it, makes the proposal an `approved` group and its mentees `matched`. A mentor
    taken meanwhile (no place left, no longer eligible or shared) answers 409 saying why. Send
    `If-Match` to approve only the version you read."""
    return versioned(as_caller("matching", "approve_group", group_id, expected_version()))


@bp.route("/<string:group_id>/rejection", methods=["POST"])
@allowed("group.reject")
@bp.arguments(DecisionSchema, required=False)
@bp.response(200, GroupSchema)
def reject_group(_body, group_id):
    """Reject a proposal: the mentor's place is freed and its mentees wait again."""
    return versioned(as_caller("matching", "reject_group", group_id, expected_version()))


@bp.route("/<string:group_id>/members", methods=["POST"])
@allowed("group.edit")
@bp.arguments(MenteeMoveSchema)
@bp.response(200, GroupMoveSchema)
def move_mentee(fields, group_id):
    """Move a mentee into this proposal from another proposal of the same run, before either has
    an approval. Answers both, rescored; a move that breaks a hard rule is refused (422) naming
    the rule under `mentee_id` (this proposal) or `from_group_id` (the other)."""
    return as_caller("matching", "move_mentee", group_id, fields, expected_version())


@bp.route("/<string:group_id>/mentor", methods=["PUT"])
@allowed("group.edit")
@bp.arguments(MentorSwapSchema)
@bp.response(200, GroupSchema)
def swap_mentor(fields, group_id):
    """Give the proposal another mentor, one your partner may match, before it has an approval.
    Answers it rescored; a mentor that breaks a hard rule (eligibility, visibility, capacity,
    language level, mode, region, common slot, sector rule) is refused (422) naming the rule."""
    return versioned(as_caller("matching", "swap_mentor", group_id, fields, expected_version()))
