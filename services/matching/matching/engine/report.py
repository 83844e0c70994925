"""From an assignment to the result format: groups with explanations, unplaced mentees with the
binding reason, and the run's summary (objective, bound, gap, shares, load, waste, envy)."""
import math

import numpy as np

from coalition_common import codes
from matching import rules
from matching.engine.candidates import stage_masks

# Dense cells per chunk when checking unplaced mentees against mentors or groups.
CHUNK_CELLS = 2_000_000


def _chunks(count, width):
    rows = max(1, CHUNK_CELLS // max(1, width))
    for first in range(0, count, rows):
        yield slice(first, min(count, first + rows))


def fitting_groups(cohort, mentees, group_mentor, group_language, group_slot, group_mode):
    """Boolean (mentees x groups): the mentee passes every hard rule with the group's mentor and
    admits its archetype (same definitions as the candidates: rules.pair_masks)."""
    out = np.zeros((len(mentees), len(group_mentor)), dtype=bool)
    if not len(mentees) or not len(group_mentor):
        return out
    for part in _chunks(len(mentees), len(group_mentor)):
        i, m = mentees[part][:, None], group_mentor[None, :]
        languages, slots, modes = rules.pair_masks(cohort, i, m)
        words = np.take_along_axis(languages, np.broadcast_to((group_language // 64)[None, :, None], languages.shape[:2] + (1,)), axis=-1)[..., 0]
        fits = ((words >> (group_language % 64).astype(np.uint64)[None, :]) & np.uint64(1)).astype(bool)
        fits &= ((slots >> group_slot.astype(np.uint32)[None, :]) & np.uint32(1)).astype(bool)
        fits &= ((modes >> group_mode.astype(np.uint8)[None, :]) & np.uint8(1)).astype(bool)
        fits &= rules.sector_ok(cohort, i, m)
        out[part] = fits
    return out


def group_columns(assignment, ids):
    groups = [assignment.groups[g] for g in ids]
    return tuple(np.array([group[k] for group in groups], dtype=np.int64) for k in range(4))


def fill_with_room(assignment):
    """Place unplaced mentees (hardest first) into groups with room that admit them, even with a
    mentor outside their K best: placing someone always scores more than leaving them out.
    Returns the (mentee, mentor) pairs added that were not candidates."""
    candidates, cohort = assignment.candidates, assignment.cohort
    added = []
    unplaced = np.flatnonzero(assignment.group_of < 0)
    unplaced = unplaced[np.lexsort((unplaced, candidates.feasible[unplaced]))]
    unplaced = unplaced[candidates.feasible[unplaced] > 0]
    room = [g for g, group in sorted(assignment.groups.items()) if len(group[4]) < assignment.size_max]
    if not len(unplaced) or not room:
        return added
    fits = fitting_groups(cohort, unplaced, *group_columns(assignment, room))
    for row in np.flatnonzero(fits.any(1)).tolist():
        mentee = int(unplaced[row])
        options = [room[k] for k in np.flatnonzero(fits[row]) if len(assignment.groups[room[k]][4]) < assignment.size_max]
        if not options:
            continue
        mentors = np.array([assignment.groups[g][0] for g in options])
        scores = rules.pair_scores(cohort, np.full(len(options), mentee), mentors)
        best = int(np.argmax(scores))
        assignment.join(mentee, options[best])
        if candidates.find(np.array([mentee]), mentors[best:best + 1])[0] < 0:
            added.append((mentee, int(mentors[best])))
    return added


def unplaced_reasons(assignment, mentees_input):
    """[{"mentee_id", "reason", "detail"}] for every unplaced mentee: the first hard filter that
    leaves no mentor (rules.STAGES order); else all compatible mentors full; else too few
    compatible mentees to form a group with a mentor that has room."""
    candidates, cohort = assignment.candidates, assignment.cohort
    unplaced = np.flatnonzero(assignment.group_of < 0)
    minimum = cohort.settings["min_language_level"]
    out = []
    # Mentors with a free place left after this assignment.
    free = np.array([assignment.free_places(m) > 0 for m in range(cohort.mentors)], dtype=bool)
    pool = np.flatnonzero(free & cohort.eligible & cohort.visible)
    has_free = np.zeros(len(unplaced), dtype=bool)
    if len(pool):
        for part in _chunks(len(unplaced), len(pool)):
            i = unplaced[part][:, None]
            has_free[part] = stage_masks(cohort, i, pool[None, :])[-1].any(1)
    for k, mentee in enumerate(unplaced.tolist()):
        source = mentees_input[mentee]
        counts = candidates.stage_counts[mentee]
        spoken = [skill["code"] for skill in source.get("languages") or ()
                  if skill.get("level") in codes.LANGUAGE_LEVELS and codes.level_rank(skill["level"]) >= cohort.min_rank]
        languages = " or ".join(spoken) or "no language"
        region = source.get("region") or "their region"
        if counts[0] == 0:
            if cohort.needs_same_minor[mentee]:
                detail = (f"No eligible mentor has an occupation in ISCO-08 minor group "
                          f"{(source.get('target_occupation') or '')[:3]} ({cohort.rule_set[mentee]} rule set).")
            else:
                detail = "No eligible mentor is visible to this programme."
            reason = "no_mentor_for_sector_rule"
        elif counts[1] == 0:
            reason = "no_mentor_with_language_level"
            detail = (f"No mentor speaks {languages} at {minimum} or above." if spoken
                      else f"The mentee speaks no language at {minimum} or above.")
        elif counts[2] == 0:
            reason = "no_mentor_in_region_or_mode"
            detail = f"No mentor who speaks {languages} at {minimum} or above meets in {region} or virtually in a mode the mentee accepts."
        elif counts[3] == 0:
            reason = "no_mentor_with_common_slot"
            detail = (f"No mentor who fits language, region and mode shares a weekly slot with the mentee "
                      f"({', '.join(source.get('availability') or ()) or 'no slots given'}).")
        elif not has_free[k]:
            reason = "compatible_mentors_full"
            detail = f"All {int(counts[3])} compatible mentors are full."
        else:
            reason = "too_few_compatible_mentees"
            detail = (f"Compatible mentors have room, but too few other mentees fit a group of at least "
                      f"{cohort.size_min} with them.")
        out.append({"mentee_id": cohort.mentee_ids[mentee], "reason": reason, "detail": detail})
    return out


def hardest(feasible, share=0.2, matchable=False):
    """The hardest `share` of mentees: fewest feasible mentors first (ties by input order); with
    `matchable`, of the mentees with at least one feasible mentor."""
    order = np.lexsort((np.arange(len(feasible)), feasible))
    if matchable:
        order = order[feasible[order] > 0]
    return order[:math.ceil(share * len(order))]


def envy(assignment):
    """Placed mentees who could move to another group with room that admits them and score more
    there (over their candidate mentors)."""
    from matching.engine.flow import group_arcs

    candidates = assignment.candidates
    ids = sorted(assignment.groups)
    if not ids:
        return 0
    columns = group_columns(assignment, ids)
    pair, group = group_arcs(candidates, *columns)
    sizes = np.array([len(assignment.groups[g][4]) for g in ids])
    mentee = candidates.mentee[pair]
    current = assignment.group_of[mentee]
    index = {g: k for k, g in enumerate(ids)}
    current_index = np.array([index.get(int(g), -1) for g in current]) if len(current) else np.zeros(0, dtype=np.int64)
    placed, placed_pairs = assignment.pairs_placed()
    own = np.full(candidates.cohort.mentees, np.inf)
    own[placed] = candidates.score[placed_pairs]
    better = (current_index >= 0) & (current_index != group) & (sizes[group] < assignment.size_max) & \
        (candidates.score[pair] > own[mentee] + 1e-9)
    return int(len(np.unique(mentee[better])))


def groups_out(assignment, mentees_input):
    cohort = assignment.cohort
    ids = sorted(assignment.groups, key=lambda g: (assignment.groups[g][0], assignment.groups[g][1:4], sorted(assignment.groups[g][4])))
    members = [sorted(assignment.groups[g][4]) for g in ids]
    flat_i = np.array([i for group in members for i in group], dtype=np.int64)
    flat_m = np.array([assignment.groups[g][0] for g, group in zip(ids, members) for _ in group], dtype=np.int64)
    explained = rules.explain_members(cohort, flat_i, flat_m, [mentees_input[i].get("target_occupation") for i in flat_i.tolist()]) if len(flat_i) else []
    out = []
    at = 0
    for g, group in zip(ids, members):
        mentor, language, slot, mode, _ = assignment.groups[g]
        items = explained[at:at + len(group)]
        at += len(group)
        used = sorted({cohort.rule_set[i] for i in group})
        out.append({"mentor_id": cohort.mentor_ids[mentor], "mentee_ids": [cohort.mentee_ids[i] for i in group],
                    "common": rules.describe_common(cohort, mentor, language, slot, mode),
                    "rule_set": used[0] if len(used) == 1 else "mixed",
                    "score": round(sum(item["score"] for item in items), 4), "members": items})
    return out


def summary(assignment, bound, **extra):
    candidates, cohort = assignment.candidates, assignment.cohort
    n = cohort.mentees
    objective = assignment.objective()
    placed = assignment.group_of >= 0
    hard = hardest(candidates.feasible)
    hard_matchable = hardest(candidates.feasible, matchable=True)
    counts = np.bincount([len(groups) for groups in assignment.mentor_groups if groups], minlength=1)
    bound = max(bound, objective)  # pairs added outside the K best may lift the objective past it
    return {
        "objective": round(objective, 4),
        "bound": round(bound, 4),
        "gap": round((bound - objective) / bound, 6) if bound > 0 else 0.0,
        "placed_share": round(float(placed.mean()), 6) if n else 0.0,
        "hard_to_match_share_placed": round(float(placed[hard].mean()), 6) if len(hard) else 0.0,
        # The same among mentees who have at least one feasible mentor: those with none cannot
        # be placed by any method (their reason says why), and would only dilute the figure.
        "hard_to_match_matchable_share_placed": round(float(placed[hard_matchable].mean()), 6) if len(hard_matchable) else 0.0,
        "unmatchable": int((candidates.feasible == 0).sum()),
        "groups_per_mentor": {str(k): int(c) for k, c in enumerate(counts) if k >= 1 and c},
        "groups": len(assignment.groups),
        "placed": int(placed.sum()),
        "mentees": n,
        "mentors": cohort.mentors,
        "candidates_per_mentee": candidates.limit,
        "bound_scope": "candidate_pairs" if candidates.pruned else "all_pairs",
        "envy": envy(assignment),
        **extra,
    }
