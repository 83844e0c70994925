"""Programmes: a partner's cohorts, with bounds from the quality criteria and a status that only
moves forward through draft → recruiting → matching → running → closed.

Every change is decided on the version read and written through coalition_common.revisions: of
concurrent changes exactly one is applied, the others answer 409, so a rule checked on the read
(min ≤ max, the next status) holds for what is stored."""
import datetime

from marshmallow import ValidationError

from coalition_common.errors import Conflict, validation_failed
from coalition_common.ids import new_id, utcnow
from coalition_common.pagination import page
from coalition_common.revisions import check_expected, delete_versioned, update_versioned, version_of
from coalition_common.schemas import load, public
from registry import scope
from registry.schemas import ProgramSchema, ProgramTransitionSchema, ProgramUpdateSchema

NEXT_STATUS = {"draft": "recruiting", "recruiting": "matching", "matching": "running", "running": "closed"}


def _stored(fields):
    # BSON has no date type: keep the start date as an ISO string.
    if isinstance(fields.get("start_date"), datetime.date):
        fields["start_date"] = fields["start_date"].isoformat()
    return fields


def shown(document):
    document = dict(document)
    document["start_date"] = datetime.date.fromisoformat(document["start_date"])
    return ProgramSchema().dump(public(document))


def create_program(database, identity, payload):
    partner_id = identity.get("partner_id")
    scope.find_writable_partner(database, identity, partner_id)
    fields = _stored(load(ProgramSchema(), payload))
    now = utcnow()
    document = dict(fields, _id=new_id(), partner_id=partner_id, status="draft", version=1, created_at=now, updated_at=now)
    database.programs.insert_one(document)
    return shown(document)


def list_programs(database, identity, cursor=None, limit=50):
    documents, next_cursor = page(database.programs, scope.tenant_filter(database, identity), cursor, limit)
    return {"items": [shown(d) for d in documents], "next_cursor": next_cursor}


def get_program(database, identity, program_id):
    return shown(scope.find_readable(database, "programs", identity, program_id, "programme"))


def update_program(database, identity, program_id, payload, expected_version=None):
    """`expected_version` is the version the caller last read (If-Match): another one answers 412."""
    program = scope.find_writable(database, "programs", identity, program_id, "programme")
    check_expected(program, expected_version, "programme")
    if program["status"] == "closed":
        raise Conflict("A closed programme cannot change.", {"status": ["Closed."]})
    fields = _stored(load(ProgramUpdateSchema(), payload))
    merged = dict(program, **fields)
    if merged["group_size_min"] > merged["group_size_max"]:
        raise validation_failed(ValidationError({"group_size_max": ["Must not be below group_size_min."]}))
    if not fields:
        return shown(program)
    fields["updated_at"] = utcnow()
    return shown(update_versioned(database.programs, program_id, version_of(program), fields, what="programme"))


def transition_program(database, identity, program_id, payload):
    program = scope.find_writable(database, "programs", identity, program_id, "programme")
    wanted = load(ProgramTransitionSchema(), payload)["status"]
    current = program["status"]
    # Forward one step at a time, or close early from any open state.
    if wanted != NEXT_STATUS.get(current) and not (wanted == "closed" and current != "closed"):
        raise Conflict(f"A {current} programme cannot become {wanted}.", {"status": [f"Not allowed from {current}."]})
    changes = {"status": wanted, "updated_at": utcnow()}
    return shown(update_versioned(database.programs, program_id, version_of(program), changes, what="programme"))


def delete_program(database, identity, program_id):
    program = scope.find_writable(database, "programs", identity, program_id, "programme")
    if program["status"] != "draft":
        raise Conflict("Only a draft programme can be deleted; close it instead.", {"status": ["Not a draft."]})
    delete_versioned(database.programs, program_id, version_of(program), what="programme")
