"""Large-neighbourhood search: free the groups of a few related mentors (4-12, sharing candidate
mentees) plus the unplaced mentees who could join them, re-solve that small MILP with HiGHS from
the current groups (warm start), keep it when it scores higher. Small neighbourhoods solve to
proof quickly, and throughput decides the result (MATCHING-NOTES.md). Deterministic: a seeded
generator picks the neighbourhoods and every solve stops on node counts, not on time."""
import multiprocessing
import time

import numpy as np

from matching.engine.model import SubModel

SIZES = (4, 12)
UNPLACED_PER_NEIGHBOURHOOD = 20
TYPES_PER_MENTOR = 8
# Placed members per neighbourhood at most: related mentors are added while they fit, so that a
# neighbourhood of busy mentors stays a model HiGHS proves in tens of milliseconds.
MEMBERS_PER_NEIGHBOURHOOD = 60


def related_mentors(assignment, seed_mentor, size, rng, allowed=None):
    """The seed mentor and the mentors sharing the most candidate mentees with it."""
    candidates = assignment.candidates
    own = candidates.by_mentor[candidates.mentor_start[seed_mentor]:candidates.mentor_start[seed_mentor + 1]]
    people = candidates.mentee[own]
    if not len(people):
        return [seed_mentor]
    ranges = [np.arange(candidates.start[i], candidates.start[i + 1]) for i in people.tolist()]
    mentors = candidates.mentor[np.concatenate(ranges)]
    shared = np.bincount(mentors, minlength=candidates.cohort.mentors).astype(np.float64)
    shared[seed_mentor] = 0
    shared[assignment.places <= 0] = 0
    if allowed is not None:
        shared[~allowed] = 0
    # Random tie-breaks (seeded) so repeated seeds explore different neighbours.
    shared += rng.random(len(shared)) * 0.5 * (shared > 0)
    order = np.argsort(-shared, kind="stable")[:size - 1]
    return [seed_mentor] + [int(m) for m in order if shared[m] > 0]


def neighbourhood(assignment, rng, side=None):
    """(mentees, mentors) of one neighbourhood; with `side` = (mentors allowed, unplaced mentees
    allowed), only those (a worker's share)."""
    candidates = assignment.candidates
    waiting_ok = (assignment.group_of < 0) & (np.diff(candidates.start) > 0)
    mentor_ok = assignment.places > 0
    if side is not None:
        waiting_ok &= side[1]
        mentor_ok &= side[0]
    unplaced = np.flatnonzero(waiting_ok)
    # The hardest unplaced mentees (with a search priority) seed neighbourhoods first.
    urgent = unplaced[candidates.priority[unplaced] > 0]
    if len(urgent) and rng.random() < 0.5:
        unplaced = urgent
    open_mentors = np.flatnonzero(mentor_ok)
    if not len(open_mentors):
        return np.zeros(0, dtype=np.int64), []
    if len(unplaced) and rng.random() < 0.5:
        mentee = int(unplaced[rng.integers(len(unplaced))])
        first, last = int(candidates.start[mentee]), int(candidates.start[mentee + 1])
        mentors = candidates.mentor[first:last]
        mentors = mentors[mentor_ok[mentors]]
        seed_mentor = int(mentors[rng.integers(len(mentors))]) if len(mentors) else int(open_mentors[rng.integers(len(open_mentors))])
    else:
        seed_mentor = int(open_mentors[rng.integers(len(open_mentors))])
    size = int(rng.integers(SIZES[0], SIZES[1] + 1))
    mentors = related_mentors(assignment, seed_mentor, size, rng, allowed=None if side is None else side[0])
    members, kept = [], []
    for mentor in mentors:
        own = [mentee for group in assignment.mentor_groups[mentor] for mentee in assignment.groups[group][4]]
        if kept and len(members) + len(own) > MEMBERS_PER_NEIGHBOURHOOD:
            continue
        kept.append(mentor)
        members += own
    mentors = kept
    in_mentor = np.zeros(candidates.cohort.mentors, dtype=bool)
    in_mentor[mentors] = True
    pairs = np.concatenate([candidates.by_mentor[candidates.mentor_start[m]:candidates.mentor_start[m + 1]] for m in mentors])
    waiting = np.unique(candidates.mentee[pairs])
    waiting = waiting[waiting_ok[waiting]]
    if len(waiting) > UNPLACED_PER_NEIGHBOURHOOD:
        # Prioritised mentees first, the rest at random.
        order = np.lexsort((rng.random(len(waiting)), -candidates.priority[waiting]))
        waiting = np.sort(waiting[order[:UNPLACED_PER_NEIGHBOURHOOD]])
    return np.array(sorted(set(members) | set(waiting.tolist())), dtype=np.int64), mentors


def search(assignment, iterations, seed=0, deadline=None, nodes=100, call_seconds=10.0, progress=None, options=None,
           side=None):
    """Improve `assignment` in place for `iterations` neighbourhoods (or until `deadline`, a
    time.monotonic() value). Returns statistics."""
    rng = np.random.default_rng([int(seed), 8])
    stats = {"iterations": 0, "improved": 0, "time_limited": False, "gain": 0.0}
    step = max(1, iterations // 20)
    for iteration in range(iterations):
        if deadline is not None and time.monotonic() > deadline:
            stats["time_limited"] = True
            break
        if progress and iteration % step == 0:
            progress("search", round(100 * iteration / iterations))
        mentees, mentors = neighbourhood(assignment, rng, side)
        stats["iterations"] += 1
        if len(mentees) < assignment.size_min:
            continue
        sub = SubModel(assignment, mentees, mentors, types_per_mentor=TYPES_PER_MENTOR)
        if not sub.types:
            continue
        start = sub.start()
        before = sub.value(start)
        solution, value, timed_out, _ = sub.solve(start, nodes=nodes, seconds=call_seconds, seed=seed + iteration, options=options)
        if timed_out:
            # A solve cut by the clock is not reproducible: flag the run.
            stats["time_limited"] = True
        if solution is None or value <= before + 1e-6:
            continue
        for mentor in mentors:
            for group in list(assignment.mentor_groups[mentor]):
                assignment.remove_group(group)
        for mentor, language, slot, mode, members in sub.groups(solution):
            assignment.add_group(mentor, language, slot, mode, members)
        stats["improved"] += 1
        stats["gain"] += value - before
    return stats


def split_mentors(assignment, round_number):
    """Two halves of the mentors that keep related mentors together: sorted by occupation (minor
    group) then region, or region then occupation on odd rounds, cut where the candidate pairs
    balance."""
    candidates, cohort = assignment.candidates, assignment.cohort
    minor = cohort.occupation_prefixes[:, 0, 2]
    region = cohort.mentor_region
    keys = (region, minor) if round_number % 2 == 0 else (minor, region)
    order = np.lexsort((np.arange(cohort.mentors),) + keys)
    weight = np.diff(candidates.mentor_start)[order] + 1
    first = order[np.cumsum(weight) <= weight.sum() / 2]
    side = np.zeros(cohort.mentors, dtype=bool)
    side[first] = True
    return side


_WORK = {}


def _work(task):
    """One worker's share (runs in a forked process): search, then return its mentors' groups."""
    worker, iterations, seed, deadline, nodes = task
    assignment, sides = _WORK["assignment"], _WORK["sides"]
    side = sides[worker]
    stats = search(assignment, iterations, seed=seed, deadline=deadline, nodes=nodes, side=side)
    groups = [tuple(assignment.groups[g][:4]) + (list(assignment.groups[g][4]),)
              for mentor in np.flatnonzero(side[0]).tolist() for g in assignment.mentor_groups[mentor]]
    return groups, stats


def search_parallel(assignment, iterations, seed=0, deadline=None, nodes=100, workers=2, rounds=2, progress=None):
    """The search split over `workers` processes, each on its own mentors and unplaced mentees
    (disjoint, so their results merge without conflict), in `rounds` rounds with different
    splits so that neighbourhoods across a cut get their turn. The split depends on the instance
    only, never on the machine, so the answer is the same everywhere."""
    candidates = assignment.candidates
    total = {"iterations": 0, "improved": 0, "time_limited": False, "gain": 0.0}
    context = multiprocessing.get_context("fork")
    for round_number in range(rounds):
        if progress:
            progress("search", round(100 * round_number / rounds))
        first_half = split_mentors(assignment, round_number)
        # An unplaced mentee goes with the mentor of its best candidate pair.
        best_side = np.zeros(candidates.cohort.mentees, dtype=bool)
        for mentee in np.flatnonzero((assignment.group_of < 0) & (np.diff(candidates.start) > 0)).tolist():
            first, last = int(candidates.start[mentee]), int(candidates.start[mentee + 1])
            best_side[mentee] = first_half[candidates.mentor[first + int(np.argmax(candidates.score[first:last]))]]
        sides = [(first_half, best_side), (~first_half, ~best_side)]
        _WORK.update(assignment=assignment, sides=sides)
        share = iterations // (rounds * workers)
        tasks = [(k, share, int(seed) * 1000 + round_number * 10 + k, deadline, nodes) for k in range(workers)]
        try:
            with context.Pool(workers) as pool:
                results = pool.map(_work, tasks)
        finally:
            _WORK.clear()
        for (mentors_side, _), (groups, stats) in zip(sides, results):
            for mentor in np.flatnonzero(mentors_side).tolist():
                for group in list(assignment.mentor_groups[mentor]):
                    assignment.remove_group(group)
            for mentor, language, slot, mode, members in groups:
                assignment.add_group(mentor, language, slot, mode, members)
            for key in ("iterations", "improved", "gain"):
                total[key] += stats[key]
            total["time_limited"] |= stats["time_limited"]
    return total
