"""The shared mentor bank, as each partner may see it."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway.api.common import PageQuery, as_caller, page_of
from gateway.auth import allowed

bp = Blueprint("mentors", __name__, url_prefix="/api/v1/mentors", description="The shared mentor bank")


class Language(Schema):
    code = fields.String()
    level = fields.String()


class Mentor(Schema):
    """Names and contact details appear only for your own partner's mentors."""

    id = fields.String()
    partner_id = fields.String()
    given_name = fields.String()
    family_name = fields.String()
    email = fields.String()
    occupation = fields.String()
    region = fields.String()
    languages = fields.List(fields.Nested(Language))
    years_experience = fields.Integer(allow_none=True)
    max_groups = fields.Integer()
    status = fields.String()
    created_at = fields.String()


@bp.route("", methods=["GET"])
@allowed("mentor.list")
@bp.arguments(PageQuery, location="query")
@bp.response(200, page_of(Mentor))
def list_mentors(query):
    """Your own partner's mentors and, once your partner has accepted the charter, the mentors
    pooled by other partners that have accepted it."""
    return as_caller("mentor_bank", "list_mentors", query["cursor"], query["limit"])
