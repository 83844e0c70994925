"""The group-matching engine, a plain library on plain data (no broker, no database):

    from matching.engine import solve
    result = solve(instance, progress=lambda phase, percent: ...)

`instance` and the result follow the engine formats in the README (settings, mentees, mentors;
groups with explanations, unplaced mentees with reasons, summary). The method, measured on
synthetic coalitions (MATCHING-NOTES.md): candidate pairs (each mentee keeps its K best mentors)
-> greedy, hardest first -> flow rounding (OR-Tools min-cost flow) -> large-neighbourhood search
(HiGHS on the strengthened model, small neighbourhoods, warm starts) -> fill groups with room.
The bound is the b-matching bound (min-cost flow over the candidate pairs).

Deterministic: the same instance and seed give the same result. The work is bounded by counts
(neighbourhoods, solver nodes) scaled to the instance; `time_limit_seconds` is only a safety net,
and the summary says `time_limited: true` when it cut the search short."""
import json
import os
import sys
import time

import numpy as np

from matching import rules
from matching.engine import candidates as candidate_pairs
from matching.engine import flow, greedy, neighbourhoods, report

__all__ = ["solve"]

CANDIDATES_PER_MENTEE = 40
# Added to the search score of the hardest 20% of matchable mentees (fewest feasible mentors):
# a tie-break strong enough that the search places them rather than an easier mentee of nearly
# the same score. The reported objective is the plain score.
HARDEST_PRIORITY = 3
# From this many mentees the search runs in two processes (a fixed number, never the machine's
# core count, so the answer does not depend on the machine).
PARALLEL_FROM = 1000


def search_budget(mentees):
    """Neighbourhoods to re-solve: enough to matter on small cohorts, bounded on large ones."""
    return int(max(30, min(0.2 * mentees, 400 + 0.02 * mentees)))


def priorities(feasible):
    """The search priority of each mentee: HARDEST_PRIORITY for the hardest 20% of matchable
    mentees, more for fewer feasible mentors (a mentee with one feasible mentor gets double)."""
    priority = np.zeros(len(feasible))
    hard = report.hardest(feasible, matchable=True)
    priority[hard] = HARDEST_PRIORITY * (1 + 1 / np.maximum(feasible[hard], 1))
    return priority


def solve(instance, *, progress=None):
    started = time.monotonic()
    settings = rules.settings_with_defaults(instance.get("settings"))
    rules.check_settings(settings)
    seed = int(settings.get("seed") or 0)
    deadline = started + float(settings.get("time_limit_seconds") or 20)
    mentees, mentors = instance.get("mentees") or [], instance.get("mentors") or []
    phases = {}
    clock = [time.monotonic()]

    def report_progress(phase, percent):
        # Wall seconds per phase, for the summary (where the time goes on a big cohort).
        now = time.monotonic()
        phases[report_progress.phase] = phases.get(report_progress.phase, 0.0) + now - clock[0]
        clock[0] = now
        report_progress.phase = phase
        if progress:
            progress(phase, percent)

    report_progress.phase = "start"

    cohort = rules.Cohort(settings, mentees, mentors)
    candidates = candidate_pairs.build(cohort, limit=CANDIDATES_PER_MENTEE, progress=report_progress)
    report_progress("greedy", 0)
    assignment = greedy.greedy(candidates, progress=report_progress)
    method = settings["method"]
    stats = {"iterations": 0, "improved": 0, "time_limited": False}
    if method == "engine" and cohort.mentees and candidates.pairs:
        candidates.prioritise(priorities(candidates.feasible))
        # Each flow round costs a few seconds at 20,000 mentees and gains little after the second.
        report_progress("flow", 0)
        assignment = flow.improve(assignment, rounds=5 if cohort.mentees < 10000 else 2, progress=report_progress)
        report_progress("search", 0)
        budget = search_budget(cohort.mentees)
        if cohort.mentees >= PARALLEL_FROM:
            stats = neighbourhoods.search_parallel(assignment, budget, seed=seed, deadline=deadline, progress=report_progress)
        else:
            stats = neighbourhoods.search(assignment, budget, seed=seed, deadline=deadline, progress=report_progress)
    report_progress("report", 0)
    added = report.fill_with_room(assignment)
    if added:
        assignment.candidates = candidates = candidates.augment(added)
        assignment.masks = report_masks(candidates)
    bound = flow.bound(candidates) if candidates.pairs else 0.0
    groups = report.groups_out(assignment, mentees)
    unplaced = report.unplaced_reasons(assignment, mentees)
    room = [g for g, group in sorted(assignment.groups.items()) if len(group[4]) < cohort.size_max]
    waiting = np.flatnonzero(assignment.group_of < 0)
    waste = int(report.fitting_groups(cohort, waiting, *report.group_columns(assignment, room)).any(1).sum()) if room else 0
    summary = report.summary(
        assignment, bound, waste=waste, method=method, seed=seed,
        search={"neighbourhoods": stats["iterations"], "improved": stats["improved"]},
        time_limited=bool(stats["time_limited"]), wall_seconds=round(time.monotonic() - started, 3))
    report_progress("done", 100)
    if os.environ.get("MATCHING_ENGINE_PHASES"):
        # Wall seconds per phase, on stderr for the bench: never in the result, which must be
        # the same for the same input (wall_seconds is its only clock reading).
        sys.stderr.write(json.dumps({"phase_seconds": {k: round(v, 3) for k, v in phases.items()}}) + "\n")
    return {"groups": groups, "unplaced": unplaced, "summary": summary}


def report_masks(candidates):
    from matching.engine.assignment import language_ints

    return language_ints(candidates), candidates.slots.tolist(), candidates.modes.tolist()
