"""Candidate pairs: every mentee against every open mentor, in chunks of dense arrays, with the
hard rules of `matching.rules`; each mentee keeps its K best mentors by score. Also counts, per
mentee, the mentors left after each hard filter (for the binding reason of an unplaced mentee)
and the number of feasible mentors (how hard the mentee is to match)."""
import numpy as np

from matching import rules

# Dense cells per chunk: a few hundred MB of temporaries at most.
CHUNK_CELLS = 2_000_000


class Candidates:
    """Pairs sorted by mentee then mentor: `mentee`, `mentor`, `score`, archetype masks
    `languages` (P, words), `slots`, `modes`; `start` indexes each mentee's pairs; `by_mentor`
    orders pairs by mentor with `mentor_start`."""

    def __init__(self, cohort, mentee, mentor, score, stage_counts, feasible, limit):
        self.cohort = cohort
        self.mentee, self.mentor, self.score = mentee, mentor, score
        self.languages, self.slots, self.modes = rules.pair_masks(cohort, mentee, mentor)
        self.stage_counts = stage_counts  # (n, 4): mentors left after each filter of rules.STAGES
        self.feasible = feasible  # mentors that pass every hard rule and have a free place
        self.limit = limit
        self.pruned = bool((feasible > limit).any())
        n, count = cohort.mentees, cohort.mentors
        self.start = np.searchsorted(mentee, np.arange(n + 1)).astype(np.int64)
        self.by_mentor = np.argsort(mentor, kind="stable")
        self.mentor_start = np.searchsorted(mentor[self.by_mentor], np.arange(count + 1)).astype(np.int64)
        self.key = mentee.astype(np.int64) * max(1, count) + mentor
        # What the search maximises: the score plus a priority for the hardest mentees (set by
        # the engine), so that they are not the ones left out when the score is nearly equal.
        self.search_score = score
        self.priority = np.zeros(cohort.mentees)

    def augment(self, pairs):
        """A copy with extra (mentee, mentor) pairs (placed outside the K best), scored alike."""
        if not pairs:
            return self
        extra_i = np.array([p[0] for p in pairs], dtype=np.int32)
        extra_m = np.array([p[1] for p in pairs], dtype=np.int32)
        mentee = np.concatenate([self.mentee, extra_i])
        mentor = np.concatenate([self.mentor, extra_m])
        score = np.concatenate([self.score, rules.pair_scores(self.cohort, extra_i, extra_m)])
        order = np.lexsort((mentor, mentee))
        return Candidates(self.cohort, mentee[order], mentor[order], score[order], self.stage_counts, self.feasible, self.limit)

    def prioritise(self, priority):
        """Add each mentee's `priority` (an array) to the search score of its pairs."""
        self.priority = np.asarray(priority, dtype=np.float64)
        self.search_score = self.score + self.priority[self.mentee]

    @property
    def pairs(self):
        return len(self.mentee)

    def find(self, mentee, mentor):
        """Pair indices of (mentee, mentor) arrays; -1 where not a candidate pair."""
        key = np.asarray(mentee, dtype=np.int64) * max(1, self.cohort.mentors) + np.asarray(mentor)
        at = np.searchsorted(self.key, key)
        at = np.minimum(at, max(0, len(self.key) - 1))
        found = (len(self.key) > 0) & (self.key[at] == key) if len(self.key) else np.zeros(np.shape(key), dtype=bool)
        return np.where(found, at, -1)


def stage_masks(cohort, i, m):
    """Cumulative hard filters in the order of rules.STAGES (each includes the previous)."""
    sector = rules.sector_ok(cohort, i, m)
    language = sector & rules.language_ok(cohort, i, m)
    place = language & rules.place_ok(cohort, i, m)
    slot = place & rules.slot_ok(cohort, i, m)
    return sector, language, place, slot


def build(cohort, limit=40, progress=None):
    """The candidate pairs of a cohort, each mentee keeping its `limit` best mentors."""
    n = cohort.mentees
    pool = np.flatnonzero(cohort.eligible & cohort.visible)
    open_mentor = cohort.places[pool] > 0
    stage_counts = np.zeros((n, len(rules.STAGES)), dtype=np.int32)
    feasible = np.zeros(n, dtype=np.int32)
    parts = []
    rows = max(1, CHUNK_CELLS // max(1, len(pool)))
    for first in range(0, n, rows):
        chunk = np.arange(first, min(n, first + rows))
        if not len(pool):
            break
        i, m = chunk[:, None], pool[None, :]
        masks = stage_masks(cohort, i, m)
        for k, mask in enumerate(masks):
            stage_counts[chunk, k] = np.count_nonzero(mask, axis=1)
        ok = masks[-1] & open_mentor[None, :]
        feasible[chunk] = np.count_nonzero(ok, axis=1)
        rr, cc = np.nonzero(ok)
        if not len(rr):
            continue
        score = rules.pair_scores(cohort, chunk[rr], pool[cc])
        if feasible[chunk].max() > limit:
            dense = np.full(ok.shape, -np.inf)
            dense[rr, cc] = score
            # The best `limit` per row; a tiny bias gives ties to the lower mentor index, so
            # the cut does not depend on the partition algorithm.
            bias = np.arange(len(pool)) * 1e-9
            top = np.argpartition(bias[None, :] - dense, limit - 1, axis=1)[:, :limit]
            keep = np.isfinite(np.take_along_axis(dense, top, axis=1))
            rows_kept = np.broadcast_to(np.arange(len(chunk))[:, None], top.shape)[keep]
            cols_kept = top[keep]
            order = np.lexsort((cols_kept, rows_kept))
            rr, cc = rows_kept[order], cols_kept[order]
            score = dense[rr, cc]
        parts.append((chunk[rr].astype(np.int32), pool[cc].astype(np.int32), score))
        if progress:
            progress("candidates", round(100 * min(n, first + rows) / max(1, n)))
    if parts:
        mentee = np.concatenate([p[0] for p in parts])
        mentor = np.concatenate([p[1] for p in parts])
        score = np.concatenate([p[2] for p in parts])
    else:
        mentee = mentor = np.zeros(0, dtype=np.int32)
        score = np.zeros(0)
    return Candidates(cohort, mentee, mentor, score, stage_counts, feasible, limit)
