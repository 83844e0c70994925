"""An assignment: groups, each one mentor meeting in one archetype (language, slot, mode) with
its mentees, over the candidate pairs. Every phase of the engine reads and rewrites one."""
import numpy as np

from matching import rules


def bits(value):
    """Positions of the set bits of a Python int."""
    out = []
    position = 0
    while value:
        if value & 1:
            out.append(position)
        value >>= 1
        position += 1
    return out


def language_ints(candidates):
    """The shared-language mask of each pair as one Python int (any number of 64-bit words)."""
    words = candidates.languages
    value = [int(x) for x in words[:, 0].tolist()] if len(words) else []
    for k in range(1, words.shape[1] if words.ndim == 2 else 0):
        value = [v | (int(w) << (64 * k)) for v, w in zip(value, words[:, k].tolist())]
    return value


class Assignment:
    def __init__(self, candidates, masks=None):
        self.candidates = candidates
        cohort = candidates.cohort
        self.cohort = cohort
        self.size_min, self.size_max = cohort.size_min, cohort.size_max
        # Python views of the pair data: the greedy and the bookkeeping loop over them.
        self.masks = masks or (language_ints(candidates), candidates.slots.tolist(), candidates.modes.tolist())
        self.groups = {}  # id -> [mentor, language, slot, mode, [mentees]]
        self.next_id = 0
        self.group_of = np.full(cohort.mentees, -1, dtype=np.int64)
        self.mentor_groups = [[] for _ in range(cohort.mentors)]
        self.places = cohort.places.copy()
        self.places[~(cohort.eligible & cohort.visible)] = 0

    def copy(self):
        other = Assignment(self.candidates, self.masks)
        other.groups = {g: [a, b, c, d, list(members)] for g, (a, b, c, d, members) in self.groups.items()}
        other.next_id = self.next_id
        other.group_of = self.group_of.copy()
        other.mentor_groups = [list(groups) for groups in self.mentor_groups]
        return other

    def fits(self, pair, group):
        """Whether the pair's masks admit the group's archetype (its mentor is the pair's)."""
        languages, slots, modes = self.masks
        _, language, slot, mode, _ = self.groups[group]
        return (languages[pair] >> language & 1) and (slots[pair] >> slot & 1) and (modes[pair] >> mode & 1)

    def free_places(self, mentor):
        return self.places[mentor] - len(self.mentor_groups[mentor])

    def add_group(self, mentor, language, slot, mode, members):
        group = self.next_id
        self.next_id += 1
        self.groups[group] = [mentor, language, slot, mode, list(members)]
        self.mentor_groups[mentor].append(group)
        self.group_of[list(members)] = group
        return group

    def remove_group(self, group):
        mentor, _, _, _, members = self.groups.pop(group)
        self.mentor_groups[mentor].remove(group)
        self.group_of[members] = -1
        return members

    def join(self, mentee, group):
        self.groups[group][4].append(mentee)
        self.group_of[mentee] = group

    def leave(self, mentee):
        group = self.group_of[mentee]
        self.groups[group][4].remove(mentee)
        self.group_of[mentee] = -1

    def pairs_placed(self):
        """(mentee, pair) arrays of every placed mentee."""
        placed = np.flatnonzero(self.group_of >= 0)
        mentors = np.array([self.groups[g][0] for g in self.group_of[placed]], dtype=np.int64)
        return placed, self.candidates.find(placed, mentors)

    def objective(self, search=False):
        """The run's objective: members' scores less the mentors' load penalties (with
        `search`, the search score, which includes the hardest mentees' priority)."""
        placed, pairs = self.pairs_placed()
        counts = np.array([len(groups) for groups in self.mentor_groups])
        score = self.candidates.search_score if search else self.candidates.score
        return float(score[pairs].sum() - rules.load_penalty(self.cohort.load_weight, counts).sum())

    def check(self):
        """Assert the invariants (tests and debugging): sizes, places, archetypes."""
        for group, (mentor, language, slot, mode, members) in self.groups.items():
            assert self.size_min <= len(members) <= self.size_max, (group, len(members))
            pairs = self.candidates.find(np.array(members), np.full(len(members), mentor))
            assert (pairs >= 0).all()
            for pair in pairs:
                assert self.fits(int(pair), group)
        for mentor, groups in enumerate(self.mentor_groups):
            assert len(groups) <= self.places[mentor]
