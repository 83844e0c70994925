"""Matching runs: a programme's waiting mentees grouped with the mentors its partner may use.

Starting a run (`start_run`) queues it and answers at once; the service's timer (`run_pending`)
does the work on whichever instance claims it, and a reader follows its phase and percent
(`read_run`) until it is completed, with its result, or failed.

One run per programme at a time. A unique insert decides it, as FerretDB 1.x applies conditional
updates non-atomically: each run of a programme first inserts the programme's next lock,
`matching_run_locks` `{_id: "<programme id>:<k>"}`, k one above the latest. While the latest lock's
run is queued or running, another start answers 409; once it is completed or failed the next
start takes k + 1, and of two starts at once only one inserts it (the other answers 409). A lock
whose run never got written (its starter died in between) counts as held for LOCK_GRACE.

The work, under a lease (coalition_common.leases, claims in `matching_run_claims`) renewed as it
goes; a worker that dies leaves a claim that goes stale after LEASE, and another instance takes the
run over, at most MAX_ATTEMPTS times before the run is failed (then the mentees moved under
proposals it never wrote wait again):

1. read the programme (registry, as a coordinator of the programme's partner), its settings
   (settings.py), its waiting mentees (mentees.waiting_of) and the mentors the partner may use
   (mentor bank `matching_candidates`, the same identity; gender and age-band codes only when a
   mentee states such a preference);
2. run the engine in a subprocess (`python -m matching.engine - --progress`): it is CPU-bound and
   would stall the service's event loop in-process; its progress lines become the run's phase
   and percent;
3. keep its result in `matching_run_results` (chunks), then mark the run `result_stored`: a run
   taken over after this point writes the same proposals, never a second engine answer (the
   engine's input changes as soon as mentees are proposed);
4. write the proposals: each group `f"{run_id}-{n:04d}"` (a unique id, so a resumed run never
   writes one twice), its mentees moved waiting -> proposed with the group's id. A mentee no
   longer waiting (withdrawn meanwhile) is left out of its proposal; a group left below the
   programme's minimum is not proposed, and its other mentees go back to waiting (only the run's
   programme's mentees are moved: one re-enrolled elsewhere meanwhile is left out). A proposal an
   earlier attempt wrote is kept as written, never decided again; after each insert, a member no
   longer `proposed` with its id (withdrawn between the move and the insert, unseen by review's
   handler) leaves it;
5. complete the run with its summary and `matching.completed` in the run's own outbox (the same
   write); each group carries `group.proposed` in its own. Events hold ids and counts, no
   personal data.

Progress (phase, percent) lives in `matching_run_progress`, apart from the run, so that a worker
that lost its lease and has not noticed yet cannot overwrite the run's status with a late progress
write (FerretDB rewrites whole documents); the run itself changes only by versioned writes.
"""
import datetime
import json
import logging
import sys
import time

import eventlet
from eventlet.green import subprocess
from marshmallow import fields
from pymongo.errors import BulkWriteError, DuplicateKeyError

from coalition_common import config
from coalition_common import identity as identities
from coalition_common import leases
from coalition_common.errors import Conflict, NotFound
from coalition_common.events import outbox_entry, publish_outbox, relay_outbox
from coalition_common.ids import as_stored, aware, new_id, utcnow
from coalition_common.revisions import pull_unversioned, update_versioned, version_of
from coalition_common.schemas import StrictSchema
from matching import groups as review
from matching import mentees, rules, settings

log = logging.getLogger(__name__)

QUEUED, RUNNING, COMPLETED, FAILED = "queued", "running", "completed", "failed"
ACTIVE = (QUEUED, RUNNING)
# A worker renews its claim every quarter of this; one not renewed for this long has died.
LEASE = datetime.timedelta(seconds=config.seconds("MATCHING_RUN_LEASE_SECONDS", 60))
LOCK_GRACE = datetime.timedelta(seconds=60)
MAX_ATTEMPTS = 3
CANDIDATE_PAGE = 1000
CHUNK = 500  # groups or unplaced mentees per stored result chunk
PROPOSAL_DAYS = 14
# The engine's own time limit, then this long again plus a margin, before it is stopped.
ENGINE_MARGIN_SECONDS = 60
ENGINE_COMMAND = (sys.executable, "-m", "matching.engine", "-", "--progress")
# How the run's percent is shared out between its steps.
READING, SOLVING, WRITING = (0, 10), (10, 85), (85, 100)
# Reasons a run adds to the engine's for mentees it did not propose after all.
WITHDRAWN = "withdrawn_meanwhile"
GROUP_TOO_SMALL = "group_below_minimum_after_withdrawals"
GAVE_UP = "The run stopped several times and was given up; start it again."


class EngineFailed(Exception):
    """The engine ended without a result: the run fails (running it again would do the same)."""


# --- schemas (the API's definition of a run) ----------------------------------------------------

class RunStartSchema(StrictSchema):
    """No options yet: a run uses the programme's matching settings."""


class MemberSchema(StrictSchema):
    mentee_id = fields.String()
    score = fields.Float()
    breakdown = fields.Dict(keys=fields.String(), values=fields.Float())
    criteria = fields.List(fields.String())


class ProposedGroupSchema(StrictSchema):
    id = fields.String()
    mentor_id = fields.String()
    mentor_partner_id = fields.String()
    mentee_ids = fields.List(fields.String())
    common = fields.Dict()
    rule_set = fields.String()
    score = fields.Float()
    members = fields.List(fields.Nested(MemberSchema))


class UnplacedSchema(StrictSchema):
    mentee_id = fields.String()
    reason = fields.String()
    detail = fields.String()


class ResultSchema(StrictSchema):
    summary = fields.Dict(metadata={"description": "objective, bound, gap, placed_share, hard_to_match_share_placed, "
                                                   "groups_per_mentor, wall_seconds (the engine's), run_seconds, method, seed, "
                                                   "mentees, mentors, groups, placed"})
    groups = fields.List(fields.Nested(ProposedGroupSchema))
    unplaced = fields.List(fields.Nested(UnplacedSchema))


class RunSchema(StrictSchema):
    id = fields.String()
    program_id = fields.String()
    partner_id = fields.String()
    status = fields.String(metadata={"description": "queued, running, completed or failed"})
    phase = fields.String(allow_none=True)
    percent = fields.Float()
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    problem = fields.Dict(allow_none=True)
    result = fields.Nested(ResultSchema, allow_none=True)


# --- the calls ----------------------------------------------------------------------------------

def start_run(database, call, caller, program_id):
    """Queue a run of the caller's own partner's programme. Conflict (409) while another run of
    it is queued or running; NotFound for a programme that is not the caller's partner's."""
    program = settings.own_program(call, caller, program_id)
    if program.get("status") == "closed":
        raise Conflict("A closed programme is not matched.", {"status": ["Closed."]})
    now = as_stored(utcnow())
    run_id = new_id()
    _take_programme(database, program_id, run_id, now)
    run = {"_id": run_id, "program_id": program_id, "partner_id": program["partner_id"], "created_by": caller.get("staff_id"),
           "status": QUEUED, "version": 1, "created_at": now, "started_at": None, "finished_at": None,
           "result_stored": False, "summary": None, "adjustments": [], "problem": None, "outbox": []}
    database.matching_runs.insert_one(run)
    return shown(database, run)


def read_run(database, caller, run_id):
    """A run with its progress, and its result once completed; the programme's partner's only."""
    if not isinstance(run_id, str) or len(run_id) > 64:
        raise NotFound("No such matching run.")
    run = database.matching_runs.find_one({"_id": run_id, "partner_id": caller.get("partner_id")})
    if run is None or not caller.get("partner_id"):
        raise NotFound("No such matching run.")
    return shown(database, run)


def shown(database, run):
    progress = database.matching_run_progress.find_one({"_id": run["_id"]}) or {}
    done = run["status"] == COMPLETED
    answer = {
        "id": run["_id"], "program_id": run["program_id"], "partner_id": run["partner_id"], "status": run["status"],
        "phase": "done" if done else progress.get("phase"), "percent": 100.0 if done else float(progress.get("percent") or 0),
        "created_at": _moment(run["created_at"]), "started_at": _moment(run.get("started_at")),
        "finished_at": _moment(run.get("finished_at")), "problem": run.get("problem"),
        "result": result_of(database, run) if done else None,
    }
    return RunSchema().dump(answer)


def _moment(value):
    return aware(value).isoformat() if value else None


def result_of(database, run):
    """The engine's answer as it was written: groups left out or shrunk by withdrawals shown so."""
    adjustments = {item["group_id"]: item for item in run.get("adjustments") or ()}
    groups, unplaced = [], []
    for chunk in database.matching_run_results.find({"run_id": run["_id"]}).sort("_id", 1):
        if chunk["kind"] == "unplaced":
            unplaced += chunk["items"]
            continue
        for group in chunk["items"]:
            change = adjustments.get(group["id"])
            withdrawn = set(change["withdrawn"]) if change else set()
            unplaced += [{"mentee_id": m, "reason": WITHDRAWN, "detail": "Withdrawn before the proposal was written."}
                         for m in group["mentee_ids"] if m in withdrawn]
            if change and change["dropped"]:
                unplaced += [{"mentee_id": m, "reason": GROUP_TOO_SMALL,
                              "detail": "Others in the group withdrew meanwhile, leaving too few; back to waiting."}
                             for m in group["mentee_ids"] if m not in withdrawn]
                continue
            kept = dict(group, mentee_ids=[m for m in group["mentee_ids"] if m not in withdrawn],
                        members=[m for m in group.get("members") or () if m.get("mentee_id") not in withdrawn])
            groups.append(rules.shown_to(kept, run["partner_id"], group.get("mentor_partner_id")))
    return {"summary": run.get("summary") or {}, "groups": groups, "unplaced": unplaced}


def _take_programme(database, program_id, run_id, now):
    locks = database.matching_run_locks
    latest = locks.find_one({"program_id": program_id}, sort=[("k", -1)])
    k = 0
    if latest is not None:
        holder = database.matching_runs.find_one({"_id": latest["run_id"]}, {"status": 1})
        if holder is None:
            held = aware(latest["taken_at"]) > now - LOCK_GRACE  # its starter may be writing the run now
        else:
            held = holder["status"] in ACTIVE
        if held:
            raise _busy(latest["run_id"])
        k = latest["k"] + 1
    try:
        locks.insert_one({"_id": f"{program_id}:{k}", "program_id": program_id, "k": k, "run_id": run_id, "taken_at": now})
    except DuplicateKeyError:
        latest = locks.find_one({"_id": f"{program_id}:{k}"})
        raise _busy(latest["run_id"] if latest else None) from None


def _busy(run_id):
    return Conflict("A matching run of this programme is queued or running; follow it or wait for it to end.",
                    {"program_id": [f"Run {run_id} is under way." if run_id else "A run is under way."]})


# --- the timer's work ---------------------------------------------------------------------------

def run_pending(database, call, dispatch, engine=None):
    """Take and do each queued or running run that nobody is working on. `engine(instance,
    on_progress)` returns the engine's result (solve_in_subprocess by default)."""
    for candidate in list(database.matching_runs.find({"status": {"$in": list(ACTIVE)}}, {"_id": 1})):
        lease = leases.Lease.take(database.matching_run_claims, candidate["_id"], lasts=LEASE, key="run_id")
        if lease is None:
            continue
        run = database.matching_runs.find_one({"_id": candidate["_id"]})
        if run is None or run["status"] not in ACTIVE:  # finished by another instance just now
            lease.end()
            continue
        try:
            if lease.attempt >= MAX_ATTEMPTS:
                _fail(database, run, lease, GAVE_UP)
            else:
                do_run(database, call, dispatch, run, lease, engine or solve_in_subprocess)
        except leases.LeaseLost:
            continue
        except EngineFailed as failure:
            _fail(database, database.matching_runs.find_one({"_id": run["_id"]}), lease, str(failure))
        except Exception as err:
            # The type only. The claim goes stale and another attempt is made.
            log.error("matching run %s attempt %d failed: %s", run["_id"], lease.attempt, type(err).__name__)


def relay(database, dispatch):
    """Events a crash or an outage left in runs' and proposals' outboxes."""
    relay_outbox(database.matching_runs, dispatch, clear=pull_unversioned)
    relay_outbox(database.groups, dispatch, clear=pull_unversioned)


def acting_for(partner_id):
    """Who a run acts as towards the registry and the mentor bank: a coordinator of the
    programme's partner, so the pooling rules are the partner's own."""
    return identities.operator("matching-run", roles=("coordinator",), partner_id=partner_id)


class Progress:
    """The run's phase and percent, and the lease kept alive meanwhile (renewed every few
    seconds, including from a heartbeat while the engine is quiet)."""

    RENEW_EVERY = min(5.0, LEASE.total_seconds() / 4)

    def __init__(self, database, run_id, lease):
        self.database, self.run_id, self.lease = database, run_id, lease
        self.renewed = 0.0
        self.lost = None

    def __call__(self, phase, percent, step=None):
        if step is not None:
            low, high = step
            percent = low + (high - low) * max(0.0, min(float(percent), 100.0)) / 100
        self.keep()
        change = {"$set": {"phase": str(phase)[:64], "percent": round(float(percent), 1), "at": utcnow()}}
        try:
            self.database.matching_run_progress.update_one({"_id": self.run_id}, change, upsert=True)
        except DuplicateKeyError:  # two first writers at once (a worker that has not noticed its lease is lost)
            self.database.matching_run_progress.update_one({"_id": self.run_id}, change)

    def keep(self, force=False):
        if self.lost is not None:
            raise self.lost
        if force or time.monotonic() - self.renewed >= self.RENEW_EVERY:
            try:
                self.lease.renew()
            except leases.LeaseLost as lost:
                self.lost = lost
                raise
            self.renewed = time.monotonic()


def do_run(database, call, dispatch, run, lease, engine):
    """One attempt at a run, from wherever an earlier attempt stopped."""
    began = time.monotonic()
    progress = Progress(database, run["_id"], lease)
    progress.keep(force=True)
    if run["status"] == QUEUED:
        run = update_versioned(database.matching_runs, run["_id"], version_of(run),
                               {"status": RUNNING, "started_at": as_stored(utcnow())}, what="matching run")
    actor = acting_for(run["partner_id"])
    program = call("registry", "get_program", run["program_id"], identity=actor)
    chosen = settings.effective(database, program)
    if not run.get("result_stored"):
        progress("reading", 0, READING)
        instance = build_instance(database, call, run, chosen, actor, progress)
        progress("solving", 0, SOLVING)
        result = engine(instance, lambda phase, percent: progress.keep() if phase is None else progress(phase, percent, SOLVING),
                        chosen["time_limit_seconds"])
        run = _store_result(database, run, instance, result, progress)
    progress("writing", 0, WRITING)
    adjustments, written, placed = write_proposals(database, dispatch, run, chosen, progress)
    return _complete(database, dispatch, run, lease, adjustments, written, placed, time.monotonic() - began)


def build_instance(database, call, run, chosen, actor, progress):
    """The engine's input: settings, the programme's waiting mentees, the partner's candidate mentors."""
    waiting = mentees.waiting_of(database, run["partner_id"], run["program_id"])
    progress("reading", 30, READING)
    mentors, cursor = [], None
    while True:
        page = call("mentor_bank", "matching_candidates", cursor, CANDIDATE_PAGE, identity=actor)
        mentors += page["items"]
        cursor = page["next_cursor"]
        progress.keep()
        if cursor is None:
            break
    wanted = any((mentee.get("preferences") or {}).get(name) for mentee in waiting for name in ("mentor_gender", "mentor_age_band"))
    if wanted and mentors:
        codes = call("mentor_bank", "matching_preferences", [mentor["id"] for mentor in mentors], identity=actor, timeout=60)
        for mentor in mentors:
            mentor.update(codes.get(mentor["id"]) or {})
    progress("reading", 100, READING)
    instance_settings = {name: chosen[name] for name in ("group_size_min", "group_size_max", "min_language_level", "rule_set",
                                                           "weights", "time_limit_seconds")}
    return {"settings": dict(instance_settings, seed=settings.SEED), "mentees": waiting, "mentors": mentors}


def _store_result(database, run, instance, result, progress):
    """The engine's groups (numbered, with their mentor's partner) and unplaced mentees, in
    chunks; then the run is marked as having its result (the point of no return)."""
    partner_of = {mentor["id"]: mentor["partner_id"] for mentor in instance["mentors"]}
    # Stored as the programme's partner may see them: no preference trace for a pooled mentor.
    groups = [rules.shown_to(dict(group, id=f"{run['_id']}-{n:04d}", mentor_partner_id=partner_of.get(group["mentor_id"])),
                             run["partner_id"], partner_of.get(group["mentor_id"]))
              for n, group in enumerate(result.get("groups") or (), start=1)]
    unplaced = list(result.get("unplaced") or ())
    database.matching_run_results.delete_many({"run_id": run["_id"]})  # an earlier attempt's, unfinished
    chunks = []
    for kind, items in (("groups", groups), ("unplaced", unplaced)):
        for number, start in enumerate(range(0, len(items), CHUNK)):
            chunks.append({"_id": f"{run['_id']}:{kind}:{number:05d}", "run_id": run["_id"], "kind": kind,
                           "items": items[start:start + CHUNK]})
    for start in range(0, len(chunks), 20):
        progress.keep()
        try:
            database.matching_run_results.insert_many(chunks[start:start + 20], ordered=False)
        except BulkWriteError as err:
            if any(error.get("code") != 11000 for error in err.details.get("writeErrors", ())):
                raise
    summary = dict(result.get("summary") or {})
    summary.update(mentees=len(instance["mentees"]), mentors=len(instance["mentors"]))
    return update_versioned(database.matching_runs, run["_id"], version_of(run),
                            {"result_stored": True, "summary": summary}, what="matching run")


def _stored_groups(database, run_id):
    for chunk in database.matching_run_results.find({"run_id": run_id, "kind": "groups"}).sort("_id", 1):
        yield from chunk["items"]


def write_proposals(database, dispatch, run, chosen, progress):
    """Each stored group as a proposal. Returns (adjustments, groups written, mentees placed)."""
    groups = list(_stored_groups(database, run["_id"]))
    adjustments, written, placed = [], 0, 0
    for number, group in enumerate(groups, start=1):
        progress("writing", 100 * number / len(groups), WRITING)
        change = write_group(database, dispatch, run, group, chosen["group_size_min"])
        if change is not None:
            adjustments.append(change)
        if change is None or not change["dropped"]:
            written += 1
            placed += len(group["mentee_ids"]) - (len(change["withdrawn"]) if change else 0)
    return adjustments, written, placed


def write_group(database, dispatch, run, group, minimum):
    """Propose one group. Returns None when written as the engine made it, else what changed:
    {group_id, dropped, withdrawn: [mentee ids no longer waiting]}."""
    group_id = group["id"]
    if database.groups.find_one({"_id": group_id}, {"_id": 1}) is not None:
        # Written by an earlier attempt: kept as written, never decided again (its members were
        # decided then; dropping it now would leave a proposal whose mentees wait again).
        return _as_written(database, group, _drop_departed(database, group_id))
    kept, withdrawn = [], []
    for mentee_id in group["mentee_ids"]:
        if mentees.move_status(database, mentee_id, ("waiting",), "proposed", group_id=group_id,
                               program_id=run["program_id"]) is not None:
            kept.append(mentee_id)
            continue
        current = database.mentees.find_one({"_id": mentee_id}, {"status": 1, "group_id": 1})
        if current is not None and current.get("status") == "proposed" and current.get("group_id") == group_id:
            kept.append(mentee_id)  # moved by an earlier attempt at this run
        else:
            withdrawn.append(mentee_id)
    if len(kept) < minimum:
        for mentee_id in kept:
            mentees.move_status(database, mentee_id, ("proposed",), "waiting", group_id=None)
        return {"group_id": group_id, "dropped": True, "withdrawn": withdrawn}
    now = as_stored(utcnow())
    pooled = group.get("mentor_partner_id") != run["partner_id"]
    event = outbox_entry("group.proposed", {
        "group_id": group_id, "run_id": run["_id"], "program_id": run["program_id"], "partner_id": run["partner_id"],
        "mentor_partner_id": group.get("mentor_partner_id"), "pooled": pooled, "group_size": len(kept),
        # Pseudonymous ids only: never a name or contact detail.
        "mentee_ids": kept})
    document = {
        "_id": group_id, "program_id": run["program_id"], "partner_id": run["partner_id"], "run_id": run["_id"],
        "mentor_id": group["mentor_id"], "mentor_partner_id": group.get("mentor_partner_id"), "mentee_ids": kept,
        "common": group.get("common") or {}, "rule_set": group.get("rule_set"), "score": group.get("score"),
        "members": [member for member in group.get("members") or () if member.get("mentee_id") in kept],
        "status": "proposed", "approvals": [], "reserved": False, "expires_at": now + datetime.timedelta(days=PROPOSAL_DAYS),
        "version": 1, "created_at": now, "outbox": [event]}
    try:
        database.groups.insert_one(document)
    except DuplicateKeyError:
        return _as_written(database, group, _drop_departed(database, group_id))  # a zombie attempt wrote it just now
    publish_outbox(database.groups, group_id, [event], dispatch, pull_unversioned)
    # A mentee withdrawn or erased after their move above and before the insert was missed by
    # review's event handler (no group listed them yet): they leave the proposal now.
    withdrawn += [mentee_id for mentee_id in _drop_departed(database, group_id) if mentee_id not in withdrawn]
    return {"group_id": group_id, "dropped": False, "withdrawn": withdrawn} if withdrawn else None


def _drop_departed(database, group_id):
    """Take out of the written proposal each member no longer `proposed` with its id. Returns their ids."""
    written = database.groups.find_one({"_id": group_id}, {"mentee_ids": 1, "status": 1})
    if written is None or written.get("status") != review.PROPOSED:  # decided since: review's alone
        return []
    members = {m["_id"]: m for m in database.mentees.find({"_id": {"$in": list(written["mentee_ids"])}}, {"status": 1, "group_id": 1})}
    departed = [mentee_id for mentee_id in written["mentee_ids"]
                if members.get(mentee_id, {}).get("status") != mentees.PROPOSED or members.get(mentee_id, {}).get("group_id") != group_id]
    for mentee_id in departed:
        review.leave_proposal(database, mentee_id, group_id=group_id)
    return departed


def _as_written(database, group, departed):
    """The change of a proposal written by an earlier attempt, against the engine's group."""
    written = database.groups.find_one({"_id": group["id"]}, {"mentee_ids": 1}) or {"mentee_ids": []}
    withdrawn = [mentee_id for mentee_id in group["mentee_ids"] if mentee_id not in written["mentee_ids"] or mentee_id in departed]
    return {"group_id": group["id"], "dropped": False, "withdrawn": withdrawn} if withdrawn else None


def _complete(database, dispatch, run, lease, adjustments, written, placed, seconds):
    lease.renew()
    run = database.matching_runs.find_one({"_id": run["_id"]})
    summary = dict(run.get("summary") or {})
    summary.update(groups=written, placed=placed, withdrawn_meanwhile=sum(len(a["withdrawn"]) for a in adjustments),
                   run_seconds=round(seconds, 3))
    event = outbox_entry("matching.completed", {
        "run_id": run["_id"], "program_id": run["program_id"], "partner_id": run["partner_id"],
        "mentees": summary.get("mentees"), "mentors": summary.get("mentors"), "groups": written, "placed": summary["placed"],
        "objective": summary.get("objective"), "bound": summary.get("bound")})
    done = update_versioned(database.matching_runs, run["_id"], version_of(run), {
        "status": COMPLETED, "summary": summary, "adjustments": adjustments, "finished_at": as_stored(utcnow())},
        push={"outbox": event}, what="matching run")
    lease.end()
    publish_outbox(database.matching_runs, run["_id"], [event], dispatch, pull_unversioned)
    return done


def _fail(database, run, lease, detail):
    if run is not None and run["status"] in ACTIVE:
        if run.get("result_stored"):
            _release_unwritten(database, run["_id"])  # before the run is failed: a crash here leaves it to the next try
        problem = {"type": "about:blank", "title": "Matching failed", "status": 500, "detail": detail}
        update_versioned(database.matching_runs, run["_id"], version_of(run),
                         {"status": FAILED, "problem": problem, "finished_at": as_stored(utcnow())}, what="matching run")
    lease.end()


def _release_unwritten(database, run_id):
    """The mentees a run given up moved to `proposed` under a group it never wrote (their ids
    f"{run_id}-nnnn", from its stored result) wait again."""
    for group in _stored_groups(database, run_id):
        if database.groups.find_one({"_id": group["id"]}, {"_id": 1}) is not None:
            continue
        for mentee_id in group["mentee_ids"]:
            current = database.mentees.find_one({"_id": mentee_id}, {"status": 1, "group_id": 1})
            if current is not None and current.get("status") == mentees.PROPOSED and current.get("group_id") == group["id"]:
                mentees.move_status(database, mentee_id, (mentees.PROPOSED,), mentees.WAITING, group_id=None)


# --- the engine, in a process of its own ----------------------------------------------------------

def solve_in_subprocess(instance, on_progress, time_limit_seconds, command=ENGINE_COMMAND):
    """Run the engine CLI on `instance`: progress lines from its stderr go to `on_progress(phase,
    percent)` (which may raise, e.g. LeaseLost, to stop it); its result comes on stdout.
    EngineFailed when it exits without one, or outlasts its time limit twice over."""
    process = subprocess.Popen(list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    payload = json.dumps(instance).encode()
    output = {}

    def write():
        try:
            process.stdin.write(payload)
        except (BrokenPipeError, OSError):
            pass  # it ended early; its exit status tells why
        finally:
            try:
                process.stdin.close()
            except OSError:
                pass

    def read():
        output["stdout"] = process.stdout.read()

    writer, reader = eventlet.spawn(write), eventlet.spawn(read)
    failure = []

    def heartbeat():  # on_progress(None, None): only keep the lease alive while the engine is quiet
        while True:
            eventlet.sleep(Progress.RENEW_EVERY)
            try:
                on_progress(None, None)
            except Exception as err:
                failure.append(err)
                process.kill()
                return

    keeper = eventlet.spawn(heartbeat)
    last_error = ""
    try:
        with eventlet.Timeout(2 * time_limit_seconds + ENGINE_MARGIN_SECONDS, EngineFailed("The engine did not finish in time.")):
            for raw in process.stderr:
                line = raw.decode("utf-8", "replace").strip()
                try:
                    step = json.loads(line)
                except ValueError:
                    last_error = line[-200:] if line else last_error
                    continue
                if isinstance(step, dict) and "percent" in step:
                    on_progress(step.get("phase") or "solving", step["percent"])
            writer.wait()
            reader.wait()
            code = process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        keeper.kill()
    if failure:
        raise failure[0]
    if code != 0:
        # The exit status and the last line's exception name only: never the instance's data.
        raise EngineFailed(f"The engine stopped (exit status {code}){_exception_name(last_error)}.")
    try:
        return json.loads(output.get("stdout") or b"")
    except ValueError:
        raise EngineFailed("The engine's answer was not JSON.") from None


def _exception_name(line):
    name = line.split(":", 1)[0].strip()
    return f": {name}" if name.replace(".", "").replace("_", "").isalnum() and len(name) < 80 else ""
