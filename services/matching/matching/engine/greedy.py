"""The constructive baseline: hardest first (fewest feasible mentors first). A mentee joins the
best-scoring group with room that admits it; else it seeds a new group with its best mentor that
has a free place, in the archetype the most still-unplaced candidates of that mentor share, filled
at once with the hardest of them, so every group is born with at least the minimum size."""
import numpy as np

from matching.engine.assignment import Assignment, bits


def hardness_order(candidates):
    """Mentees with at least one candidate, fewest feasible mentors first, longest waiting next."""
    cohort = candidates.cohort
    n = cohort.mentees
    order = np.lexsort((np.arange(n), -cohort.waiting_days, candidates.feasible))
    return order[candidates.feasible[order] > 0]


def seed_group(assignment, mentee, pair, position, allowed=None, preferred=None):
    """Members for a new group of the pair's mentor around `mentee`: (language, slot, mode,
    members) or None when fewer than the minimum size fit. `allowed(mentees)` filters who may
    join (default: the unplaced); among archetypes that fill equally, the one with the most
    `preferred(mentees)` wins."""
    candidates = assignment.candidates
    languages, slots, modes = assignment.masks
    mentor = int(candidates.mentor[pair])
    others = candidates.by_mentor[candidates.mentor_start[mentor]:candidates.mentor_start[mentor + 1]]
    people = candidates.mentee[others]
    free = (assignment.group_of[people] < 0) if allowed is None else allowed(people)
    free &= people != mentee
    others, people = others[free], people[free]
    need = assignment.size_min - 1
    if len(others) < need:
        return None
    language_options, slot_options, mode_options = bits(languages[pair]), bits(slots[pair]), bits(modes[pair])
    if candidates.languages.shape[1] == 1:
        other_languages = candidates.languages[others, 0]
        language_rows = np.array([(other_languages >> np.uint64(p)) & np.uint64(1) for p in language_options], dtype=np.int64)
    else:
        language_rows = np.array([[languages[q] >> p & 1 for q in others] for p in language_options], dtype=np.int64)
    slot_rows = np.array([(candidates.slots[others] >> np.uint32(p)) & np.uint32(1) for p in slot_options], dtype=np.int64)
    mode_rows = np.array([(candidates.modes[others] >> np.uint8(p)) & np.uint8(1) for p in mode_options], dtype=np.int64)
    counts = np.einsum("lj,sj,oj->lso", language_rows, slot_rows, mode_rows)
    if counts.max(initial=0) < need:
        return None
    # Fill to the maximum where possible; among equal fills, the widest choice (more spares).
    capped = np.minimum(counts, assignment.size_max - 1)
    wanted = counts
    if preferred is not None:
        weight = preferred(people).astype(np.int64)
        wanted = np.einsum("lj,sj,oj->lso", language_rows * weight, slot_rows, mode_rows)
    best = np.lexsort((-counts.ravel(), -wanted.ravel(), -capped.ravel()))[0]
    l, s, o = np.unravel_index(best, counts.shape)
    fits = (language_rows[l] & slot_rows[s] & mode_rows[o]).astype(bool)
    chosen, chosen_people = others[fits], people[fits]
    rank = np.lexsort((-candidates.score[chosen], position[chosen_people]))
    if preferred is not None:
        rank = np.lexsort((-candidates.score[chosen], position[chosen_people], ~preferred(chosen_people)))
    members = [mentee] + chosen_people[rank[:assignment.size_max - 1]].tolist()
    return language_options[l], slot_options[s], mode_options[o], members


def greedy(candidates, progress=None):
    assignment = Assignment(candidates)
    order = hardness_order(candidates)
    n = candidates.cohort.mentees
    position = np.full(n, n, dtype=np.int64)
    position[order] = np.arange(len(order))
    start, mentor_of, score = candidates.start, candidates.mentor, candidates.score
    mentor_list, score_list = mentor_of.tolist(), score.tolist()
    size_max = assignment.size_max
    step = max(1, len(order) // 20)
    for count, mentee in enumerate(order.tolist()):
        if progress and count % step == 0:
            progress("greedy", round(100 * count / max(1, len(order))))
        if assignment.group_of[mentee] >= 0:
            continue
        first, last = int(start[mentee]), int(start[mentee + 1])
        best, best_score = None, None
        for pair in range(first, last):
            for group in assignment.mentor_groups[mentor_list[pair]]:
                if len(assignment.groups[group][4]) < size_max and assignment.fits(pair, group):
                    if best is None or score_list[pair] > best_score:
                        best, best_score = group, score_list[pair]
        if best is not None:
            assignment.join(mentee, best)
            continue
        for pair in (first + np.argsort(-score[first:last], kind="stable")).tolist():
            mentor = mentor_list[pair]
            if assignment.free_places(mentor) <= 0:
                continue
            seeded = seed_group(assignment, mentee, pair, position)
            if seeded:
                assignment.add_group(mentor, *seeded)
                break
    return assignment
