"""The shared mentor bank, as each partner may see it."""
from flask_smorest import Blueprint

from gateway.api.common import PageQuery, as_caller, page_of
from mentor_bank.schemas import ListedMentorSchema
from gateway.auth import allowed

bp = Blueprint("mentors", __name__, url_prefix="/api/v1/mentors", description="The shared mentor bank")


@bp.route("", methods=["GET"])
@allowed("mentor.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(ListedMentorSchema))
def list_mentors(query):
    """Your own partner's mentors and, once your partner has accepted the charter, the mentors
    pooled by other partners that have accepted it."""
    return as_caller("mentor_bank", "list_mentors", query["cursor"], query["limit"])
