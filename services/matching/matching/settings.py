"""A programme's matching settings: which sector rule set, weight overrides within the rule set's
bounds (matching.rules.check_settings decides), the minimum language level a mentor must share
with every member (B1 by default) and the engine's time limit.

Stored in `program_settings`, one document per programme keyed by its id, with the partner's id;
a programme without one uses the defaults. Group sizes are the programme's own (the registry's
group_size_min / group_size_max), shown here read-only.

Only the programme's own partner's staff read and change them: the programme is read from the
registry as the caller (so it must exist and be readable to them) and must be their partner's
(a hub's staff read their members' programmes, but do not match them): anything else is 404.
"""
from marshmallow import ValidationError, fields
from pymongo.errors import DuplicateKeyError

from coalition_common import codes
from coalition_common.errors import Conflict, NotFound, validation_failed
from coalition_common.fields import Choice, Moment, Text, Whole
from coalition_common.ids import utcnow
from coalition_common.revisions import check_expected, update_versioned, version_of
from coalition_common.schemas import StrictSchema, load
from matching import rules

# What a programme may set, and its defaults (the engine's own).
DEFAULTS = {name: rules.DEFAULT_SETTINGS[name] for name in ("rule_set", "weights", "min_language_level", "time_limit_seconds")}
MAX_TIME_LIMIT = 300
SEED = rules.DEFAULT_SETTINGS["seed"]  # the same input gives the same groups


class MatchingSettingsSchema(StrictSchema):
    program_id = fields.String(dump_only=True)
    rule_set = Text(load_default=DEFAULTS["rule_set"], min=1, max=64, metadata={
        "description": "`auto` (each mentee's occupation picks its sector's rule set) or a shipped rule set's name "
                       "(GET /api/v1/matching/rule-sets)."})
    weights = fields.Dict(keys=Text(min=1, max=64), values=fields.Float(allow_nan=False), load_default=dict, metadata={
        "description": "Soft weight overrides by name, each within the rule set's bounds."})
    min_language_level = Choice(codes.CEFR_LEVELS, load_default=DEFAULTS["min_language_level"], metadata={
        "description": "The level at which the mentor must share a language with every member."})
    time_limit_seconds = Whole(load_default=DEFAULTS["time_limit_seconds"], min=1, max=MAX_TIME_LIMIT, metadata={
        "description": "How long the engine may search before it answers with its best groups."})
    group_size_min = fields.Integer(dump_only=True, metadata={"description": "The programme's, read-only here."})
    group_size_max = fields.Integer(dump_only=True, metadata={"description": "The programme's, read-only here."})
    version = fields.Integer(dump_only=True, metadata={"description": "0 while the defaults apply."})
    updated_at = Moment(dump_only=True, allow_none=True)


def _valid_id(program_id):
    if not isinstance(program_id, str) or not 1 <= len(program_id) <= 64:
        raise NotFound("No such programme.")


def own_program(call, caller, program_id):
    """The programme, read from the registry as `caller`, when it is the caller's own partner's;
    NotFound otherwise (missing, unreadable, or another partner's)."""
    _valid_id(program_id)
    program = call("registry", "get_program", program_id, identity=caller)
    if not caller.get("partner_id") or program.get("partner_id") != caller.get("partner_id"):
        raise NotFound("No such programme.")
    return program


def stored(database, program_id):
    return database.program_settings.find_one({"_id": program_id})


def effective(database, program):
    """The settings a run of `program` (a registry programme) uses: the stored ones over the
    defaults, with the programme's group sizes. Plain values, ready for an engine instance."""
    document = stored(database, program["id"]) or {}
    chosen = {name: document.get(name, default) for name, default in DEFAULTS.items()}
    return dict(chosen, group_size_min=program["group_size_min"], group_size_max=program["group_size_max"])


def shown(program, document):
    settings = {name: (document or {}).get(name, default) for name, default in DEFAULTS.items()}
    return MatchingSettingsSchema().dump(dict(
        settings, program_id=program["id"], group_size_min=program["group_size_min"], group_size_max=program["group_size_max"],
        version=version_of(document) if document else 0, updated_at=(document or {}).get("updated_at")))


def read_settings(database, call, caller, program_id):
    program = own_program(call, caller, program_id)
    return shown(program, stored(database, program_id))


def check(fields_loaded, program):
    """The rule set's own bounds, as the engine applies them (rules.check_settings)."""
    try:
        rules.check_settings(dict(fields_loaded, group_size_min=program["group_size_min"], group_size_max=program["group_size_max"]))
    except ValidationError as err:
        raise validation_failed(err)


def replace_settings(database, call, caller, program_id, payload, expected_version=None):
    """PUT: every setting at once (those left out take their defaults). `expected_version` is the
    version last read (If-Match): another one answers 412."""
    program = own_program(call, caller, program_id)
    fields_loaded = load(MatchingSettingsSchema(), payload)
    check(fields_loaded, program)
    now = utcnow()
    document = stored(database, program_id)
    check_expected(document or {"version": 0}, expected_version, "matching settings")
    if document is None:
        try:
            document = dict(fields_loaded, _id=program_id, partner_id=program["partner_id"], version=1, created_at=now, updated_at=now)
            database.program_settings.insert_one(document)
            return shown(program, document)
        except DuplicateKeyError:  # stored meanwhile by a colleague
            if expected_version is not None:
                raise Conflict("The matching settings changed meanwhile; read them again.", {"version": ["Changed since it was read."]})
            document = stored(database, program_id)
    written = update_versioned(database.program_settings, program_id, version_of(document), dict(fields_loaded, updated_at=now),
                               what="matching settings")
    return shown(program, written)


def rule_sets():
    """The shipped sector rule sets document (matching/rule_sets.json)."""
    return rules.rule_sets()
