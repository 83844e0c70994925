"""Matching: a programme's matching settings, the shipped sector rule sets, and matching runs
(the programme's own partner's coordinators and partner admins)."""
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from gateway.api.common import as_caller, expected_version, versioned
from gateway.auth import allowed
from matching.runs import RunSchema, RunStartSchema
from matching.settings import MatchingSettingsSchema

bp = Blueprint("matching_runs", __name__, url_prefix="/api/v1", description="Matching: settings, sector rule sets and runs")


class RuleSetsSchema(Schema):
    """The shipped document (services/matching/matching/rule_sets.json)."""

    about = fields.String()
    rule_sets = fields.Dict(metadata={"description": "By name: title, the ISCO-08 prefixes it covers, its hard rules, "
                                                     "and each soft weight's default and bounds (min, max)."})
    hard_rules = fields.Dict(metadata={"description": "What each hard rule requires."})
    sector_rules = fields.Dict()
    weights = fields.Dict(metadata={"description": "What each weight scores."})
    occupation_closeness = fields.Dict()
    goals = fields.Dict()
    waiting_time = fields.Dict()


@bp.route("/matching/rule-sets", methods=["GET"])
@allowed("matching.rule_sets")
@bp.response(200, RuleSetsSchema)
def rule_sets():
    """The sector rule sets shipped with the platform. Regulated occupations (health, teaching,
    legal, engineering) need a mentor in the same ISCO-08 minor group; the default rule set scores
    closeness in the ISCO hierarchy."""
    return as_caller("matching", "rule_sets")


@bp.route("/programs/<string:program_id>/matching-settings", methods=["GET"])
@allowed("matching.settings")
@bp.response(200, MatchingSettingsSchema)
def read_settings(program_id):
    """Your own partner's programme's matching settings (the defaults until changed)."""
    return versioned(as_caller("matching", "read_matching_settings", program_id))


@bp.route("/programs/<string:program_id>/matching-settings", methods=["PUT"])
@allowed("matching.settings")
@bp.arguments(MatchingSettingsSchema)
@bp.response(200, MatchingSettingsSchema)
def replace_settings(fields_loaded, program_id):
    """Set the programme's rule set (`auto` or a shipped one), weight overrides within the rule
    set's bounds, the minimum language level and the engine's time limit; settings left out take
    their defaults. Send `If-Match` with the ETag you read to refuse (412) a change based on a
    stale copy. Group sizes are the programme's own (PATCH the programme)."""
    return versioned(as_caller("matching", "replace_matching_settings", program_id, fields_loaded, expected_version()))


@bp.route("/programs/<string:program_id>/matching-runs", methods=["POST"])
@allowed("matching.run")
@bp.arguments(RunStartSchema, required=False)
@bp.response(202, RunSchema)
def start_run(body, program_id):
    """Group the programme's waiting mentees with the mentors your partner may use (yours, and
    the pool's once your partner accepted the charter). Answers 202 at once: follow Location
    until the run is `completed` (with proposals and their explanations) or `failed`. 409 while
    another run of the programme is queued or running."""
    run = as_caller("matching", "start_run", program_id)
    return run, 202, {"Location": f"{bp.url_prefix}/matching-runs/{run['id']}"}


@bp.route("/matching-runs/<string:run_id>", methods=["GET"])
@allowed("matching.read")
@bp.response(200, RunSchema)
def read_run(run_id):
    """A run's status (queued, running, completed, failed), phase and percent; once completed, its
    result: the summary (objective, bound and gap, share placed, share of hard-to-match mentees
    placed, groups per mentor, wall time), each proposed group with its mentor, mentees and the
    explanation of every member's score, and every unplaced mentee with the binding reason."""
    return as_caller("matching", "read_run", run_id)
