"""Min-cost flow (OR-Tools): the b-matching bound, and flow rounding, which reassigns every mentee
among a set of open groups (current groups plus new ones proposed by a set cover over unplaced
mentees), closing groups the flow leaves below the minimum size and solving again."""
import numpy as np
from ortools.graph.python import min_cost_flow

from matching.engine.assignment import bits
from matching.engine.greedy import hardness_order, seed_group

# Scores are reals; the flow wants integers.
SCALE = 1000


def bound(candidates):
    """The b-matching bound: each mentee at most once, each mentor at most places x maximum size
    seats, over the candidate pairs. Seats beyond a mentor's k-th group cost at least the load
    penalty spread over the seats, so the bound stays an upper bound on the objective."""
    cohort = candidates.cohort
    n, count = cohort.mentees, cohort.mentors
    if not candidates.pairs:
        return 0.0
    flow = min_cost_flow.SimpleMinCostFlow()
    sink = n + count
    pairs = candidates.pairs
    flow.add_arcs_with_capacity_and_unit_cost(
        candidates.mentee.astype(np.int64), n + candidates.mentor.astype(np.int64),
        np.ones(pairs, dtype=np.int64), -np.ceil(candidates.score * SCALE).astype(np.int64))
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n, dtype=np.int64), np.full(n, sink, dtype=np.int64), np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    places = np.where(cohort.eligible & cohort.visible, cohort.places, 0)
    mentors = np.repeat(np.arange(count), places)
    block = np.arange(len(mentors)) - np.repeat(np.cumsum(places) - places, places)
    flow.add_arcs_with_capacity_and_unit_cost(
        n + mentors.astype(np.int64), np.full(len(mentors), sink, dtype=np.int64),
        np.full(len(mentors), cohort.size_max, dtype=np.int64),
        np.floor(cohort.load_weight * block / cohort.size_max * SCALE).astype(np.int64))
    flow.set_nodes_supplies(np.arange(n + count + 1, dtype=np.int64),
                            np.concatenate([np.ones(n, dtype=np.int64), np.zeros(count, dtype=np.int64), [-n]]))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"b-matching flow failed: {status}")
    return -flow.optimal_cost() / SCALE


def group_arcs(candidates, group_mentor, group_language, group_slot, group_mode):
    """(pair, group) arrays of every candidate pair whose mentor runs the group and whose masks
    admit the group's archetype."""
    count = candidates.cohort.mentors
    order = np.argsort(group_mentor, kind="stable")
    starts = np.searchsorted(group_mentor[order], np.arange(count + 1))
    per_mentor = np.diff(starts)
    repeat = per_mentor[candidates.mentor]
    pair = np.repeat(np.arange(candidates.pairs), repeat)
    within = np.arange(len(pair)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    group = order[starts[candidates.mentor[pair]] + within]
    language = group_language[group]
    words = candidates.languages[pair, language // 64]
    fits = ((words >> (language % 64).astype(np.uint64)) & np.uint64(1)).astype(bool)
    fits &= ((candidates.slots[pair] >> group_slot[group].astype(np.uint32)) & np.uint32(1)).astype(bool)
    fits &= ((candidates.modes[pair] >> group_mode[group].astype(np.uint8)) & np.uint8(1)).astype(bool)
    return pair[fits], group[fits]


def propose(assignment, position, limit=None):
    """New groups for mentors with free places, by set cover: for each unplaced mentee, hardest
    first, the best mentor with a free place whose candidates can fill a group around it."""
    candidates = assignment.candidates
    placed = assignment.group_of >= 0
    covered = np.zeros(len(placed), dtype=bool)
    free = {m: assignment.free_places(m) for m in range(candidates.cohort.mentors)}
    proposals = []
    for mentee in hardness_order(candidates).tolist():
        if covered[mentee] or placed[mentee]:
            continue
        first, last = int(candidates.start[mentee]), int(candidates.start[mentee + 1])
        for pair in (first + np.argsort(-candidates.score[first:last], kind="stable")).tolist():
            mentor = int(candidates.mentor[pair])
            if free[mentor] <= 0:
                continue
            # Placed mentees may help fill a proposal (the flow can move them); unplaced first.
            seeded = seed_group(assignment, mentee, pair, position, allowed=lambda people: ~covered[people],
                                preferred=lambda people: ~placed[people])
            if seeded:
                language, slot, mode, members = seeded
                proposals.append((mentor, language, slot, mode))
                covered[members] = True
                free[mentor] -= 1
                break
        if limit is not None and len(proposals) >= limit:
            break
    return proposals


def propose_better(assignment, proposed=(), share_covered=0.25):
    """New groups for every free place, each in the archetype that offers the most gain over
    where its candidates sit now (an unplaced mentee gains its whole score); the flow then decides
    who moves. People already counted by a proposal count for less in the next ones."""
    candidates = assignment.candidates
    cohort = candidates.cohort
    placed, pairs = assignment.pairs_placed()
    current = np.zeros(cohort.mentees)
    current[placed] = candidates.search_score[pairs]
    weight = np.ones(cohort.mentees)
    already = np.bincount([group[0] for group in proposed], minlength=cohort.mentors)
    proposals = []
    for mentor in np.flatnonzero(assignment.places > 0).tolist():
        free = assignment.free_places(mentor) - already[mentor]
        if free <= 0:
            continue
        own = candidates.by_mentor[candidates.mentor_start[mentor]:candidates.mentor_start[mentor + 1]]
        if len(own) < cohort.size_min:
            continue
        people = candidates.mentee[own]
        gain = np.maximum(0.0, candidates.search_score[own] - current[people])
        useful = gain > 1e-9
        own, people, gain = own[useful], people[useful], gain[useful]
        if len(own) < cohort.size_min:
            continue
        language_options = bits(int(np.bitwise_or.reduce(candidates.languages[own, 0]))) if candidates.languages.shape[1] == 1 else []
        if not language_options:
            continue
        word = candidates.languages[own, 0]
        language_rows = np.array([(word >> np.uint64(p)) & np.uint64(1) for p in language_options], dtype=np.float64)
        slot_options = bits(int(np.bitwise_or.reduce(candidates.slots[own])))
        mode_options = bits(int(np.bitwise_or.reduce(candidates.modes[own])))
        slot_rows = np.array([(candidates.slots[own] >> np.uint32(p)) & np.uint32(1) for p in slot_options], dtype=np.float64)
        mode_rows = np.array([(candidates.modes[own] >> np.uint8(p)) & np.uint8(1) for p in mode_options], dtype=np.float64)
        for _ in range(free):
            w = gain * weight[people]
            counts = np.einsum("lj,sj,oj->lso", language_rows, slot_rows, mode_rows)
            value = np.einsum("lj,sj,oj->lso", language_rows * w, slot_rows, mode_rows)
            value[counts < cohort.size_min] = -1
            best = int(np.argmax(value))
            if value.ravel()[best] <= 0:
                break
            l, s_, o = np.unravel_index(best, value.shape)
            fits = (language_rows[l] * slot_rows[s_] * mode_rows[o]).astype(bool)
            top = np.argsort(-w * fits, kind="stable")[:cohort.size_max]
            weight[people[top]] *= share_covered
            proposals.append((mentor, language_options[l], slot_options[s_], mode_options[o]))
    return proposals


def assign(candidates, groups, fill_bonus):
    """Solve mentees -> groups (list of (mentor, language, slot, mode)): each group holds up to the
    maximum size; its first `size_min` seats earn `fill_bonus` each so the flow fills groups to
    the minimum rather than spreading people thin. Returns each mentee's group index or -1."""
    cohort = candidates.cohort
    n = cohort.mentees
    taken = np.full(n, -1, dtype=np.int64)
    if not groups:
        return taken
    mentor, language, slot, mode = (np.array(column, dtype=np.int64) for column in zip(*groups))
    pair, group = group_arcs(candidates, mentor, language, slot, mode)
    g = len(groups)
    sink = n + g
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        candidates.mentee[pair].astype(np.int64), n + group, np.ones(len(pair), dtype=np.int64),
        -np.round(candidates.search_score[pair] * SCALE).astype(np.int64))
    flow.add_arcs_with_capacity_and_unit_cost(
        np.arange(n, dtype=np.int64), np.full(n, sink, dtype=np.int64), np.ones(n, dtype=np.int64), np.zeros(n, dtype=np.int64))
    heads = np.full(g, sink, dtype=np.int64)
    flow.add_arcs_with_capacity_and_unit_cost(n + np.arange(g, dtype=np.int64), heads,
                                              np.full(g, cohort.size_min, dtype=np.int64),
                                              np.full(g, -round(fill_bonus * SCALE), dtype=np.int64))
    flow.add_arcs_with_capacity_and_unit_cost(n + np.arange(g, dtype=np.int64), heads,
                                              np.full(g, cohort.size_max - cohort.size_min, dtype=np.int64),
                                              np.zeros(g, dtype=np.int64))
    flow.set_nodes_supplies(np.arange(n + g + 1, dtype=np.int64),
                            np.concatenate([np.ones(n, dtype=np.int64), np.zeros(g, dtype=np.int64), [-n]]))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"assignment flow failed: {status}")
    used = flow.flows(np.arange(len(pair), dtype=np.int64)) > 0
    taken[candidates.mentee[pair[used]]] = group[used]
    return taken


def round_groups(candidates, groups, fill_bonus, max_steps=50):
    """Assign by flow, close groups left below the minimum, assign again, until every open group
    is full enough. Returns (groups kept, each mentee's index into them or -1)."""
    groups = list(groups)
    taken = np.full(candidates.cohort.mentees, -1, dtype=np.int64)
    for _ in range(max_steps):
        if not groups:
            break
        taken = assign(candidates, groups, fill_bonus)
        sizes = np.bincount(taken[taken >= 0], minlength=len(groups))
        keep = sizes >= candidates.cohort.size_min
        index = np.where(keep, np.cumsum(keep) - 1, -1)
        taken = np.where(taken >= 0, index[np.maximum(taken, 0)], -1)
        groups = [group for group, kept in zip(groups, keep) if kept]
        if keep.all():
            break
        # Underfilled groups were closed (empty ones too: that frees a place); assign again.
        taken[:] = -1
    return groups, taken


def improve(assignment, rounds=3, fill_bonus=None, progress=None, widen=True):
    """Flow rounding from an assignment; returns the best assignment seen (never worse)."""
    from matching.engine.assignment import Assignment

    candidates = assignment.candidates
    if fill_bonus is None:
        fill_bonus = float(np.median(candidates.score)) if candidates.pairs else 1.0
    order = hardness_order(candidates)
    n = candidates.cohort.mentees
    position = np.full(n, n, dtype=np.int64)
    position[order] = np.arange(len(order))
    best, best_value = assignment, assignment.objective(search=True)
    current = assignment
    for step in range(rounds):
        if progress:
            progress("flow", round(100 * step / rounds))
        groups = [tuple(group[:4]) for _, group in sorted(current.groups.items())]
        proposed = propose(current, position)
        if widen:
            proposed += propose_better(current, proposed)
        groups += proposed
        kept, taken = round_groups(candidates, groups, fill_bonus)
        following = Assignment(candidates, assignment.masks)
        members = [[] for _ in kept]
        for mentee in np.flatnonzero(taken >= 0).tolist():
            members[taken[mentee]].append(mentee)
        for group, people in zip(kept, members):
            if len(people) >= candidates.cohort.size_min:
                following.add_group(*group, people)
        value = following.objective(search=True)
        current = following
        if value > best_value + 1e-9:
            best, best_value = following, value
        else:
            break
    return best
