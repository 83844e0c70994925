"""The group-matching MILP on the strengthened model (MATCHING-NOTES.md), for any set of mentees
and mentors: x[i,m,c] (mentee i in a group of mentor m meeting in archetype c), n[m,c] (how many
such groups), z[m,k] (mentor m runs a k-th group, for the load penalty):

    sum_{m,c} x[i,m,c] <= 1                   each mentee at most once
    min n[m,c] <= sum_i x[i,m,c] <= max n[m,c]  group sizes
    x[i,m,c] <= n[m,c]                         the strengthening that makes the LP nearly tight
    sum_c n[m,c] = sum_k z[m,k], z <= 1        places; the k-th group costs load x (k - 1)

solved by HiGHS on one thread with deterministic limits (node counts), so the same input gives
the same answer; the time limit is only a safety net."""
import highspy
import numpy as np

from matching.engine.assignment import bits


# The warm start is already good and the strengthened LP nearly tight: HiGHS's root heuristics,
# symmetry detection and cut pool cost more than they find on these small models (measured: a
# third of the time for the same gains on 60 neighbourhoods).
FAST = {"mip_detect_symmetry": False, "mip_heuristic_effort": 0.0, "mip_allow_restart": False,
        "mip_heuristic_run_feasibility_jump": False, "mip_heuristic_run_rins": False,
        "mip_heuristic_run_rens": False, "mip_heuristic_run_root_reduced_cost": False,
        "mip_pool_soft_limit": 1, "mip_lp_age_limit": 0, "mip_pool_age_limit": 0}


class SubModel:
    """The model over `mentees` (array) and `mentors` (array) of an assignment; groups of those
    mentors may take any of those mentees."""

    def __init__(self, assignment, mentees, mentors, types_per_mentor=None):
        candidates = assignment.candidates
        cohort = candidates.cohort
        self.assignment = assignment
        self.mentors = [int(m) for m in mentors]
        size_min, size_max = cohort.size_min, cohort.size_max
        in_mentor = np.zeros(cohort.mentors, dtype=bool)
        in_mentor[self.mentors] = True
        mentees = np.asarray(mentees, dtype=np.int64)
        if len(mentees) == cohort.mentees:
            pairs = np.flatnonzero(in_mentor[candidates.mentor])
        else:
            ranges = [np.arange(candidates.start[i], candidates.start[i + 1]) for i in mentees.tolist()]
            pairs = np.concatenate(ranges) if ranges else np.zeros(0, dtype=np.int64)
            pairs = pairs[in_mentor[candidates.mentor[pairs]]]
        languages, slots, modes = assignment.masks
        # Archetypes of each mentor that at least the minimum number of these mentees admit.
        order = np.argsort(candidates.mentor[pairs], kind="stable")
        pairs = pairs[order]
        x_pair, x_type = [], []
        self.types = []  # (mentor, language, slot, mode)
        for k, mentor in enumerate(self.mentors):
            own = pairs[np.searchsorted(candidates.mentor[pairs], mentor):np.searchsorted(candidates.mentor[pairs], mentor, side="right")]
            if len(own) < size_min:
                continue
            language_options = bits(np.bitwise_or.reduce(candidates.languages[own, 0]).item()) if candidates.languages.shape[1] == 1 else \
                bits(np.bitwise_or.reduce([languages[q] for q in own.tolist()]))
            slot_options = bits(int(np.bitwise_or.reduce(candidates.slots[own])))
            mode_options = bits(int(np.bitwise_or.reduce(candidates.modes[own])))
            if candidates.languages.shape[1] == 1:
                word = candidates.languages[own, 0]
                language_rows = np.array([(word >> np.uint64(p)) & np.uint64(1) for p in language_options], dtype=bool)
            else:
                language_rows = np.array([[languages[q] >> p & 1 for q in own.tolist()] for p in language_options], dtype=bool)
            slot_rows = np.array([(candidates.slots[own] >> np.uint32(p)) & np.uint32(1) for p in slot_options], dtype=bool)
            mode_rows = np.array([(candidates.modes[own] >> np.uint8(p)) & np.uint8(1) for p in mode_options], dtype=bool)
            fits = language_rows[:, None, None, :] & slot_rows[None, :, None, :] & mode_rows[None, None, :, :]
            counts = fits.sum(-1)
            kept = np.flatnonzero(counts.ravel() >= size_min)
            if types_per_mentor is not None and len(kept) > types_per_mentor:
                # The archetypes most of these mentees admit, and those the mentor runs now.
                current = {tuple(assignment.groups[g][1:4]) for g in assignment.mentor_groups[mentor]}
                shape = counts.shape
                ranked = kept[np.argsort(-counts.ravel()[kept], kind="stable")]
                keep = [k for k in ranked[:types_per_mentor]]
                for k in ranked[types_per_mentor:]:
                    l, s, o = np.unravel_index(k, shape)
                    if (language_options[l], slot_options[s], mode_options[o]) in current:
                        keep.append(k)
                kept = np.sort(np.array(keep))
            for l, s, o in zip(*np.unravel_index(kept, counts.shape)):
                members = own[fits[l, s, o]]
                x_pair.append(members)
                x_type.append(np.full(len(members), len(self.types)))
                self.types.append((mentor, language_options[l], slot_options[s], mode_options[o]))
        self.x_pair = np.concatenate(x_pair) if x_pair else np.zeros(0, dtype=np.int64)
        self.x_type = np.concatenate(x_type) if x_type else np.zeros(0, dtype=np.int64)
        self.x_mentee = candidates.mentee[self.x_pair].astype(np.int64)
        nx, nt = len(self.x_pair), len(self.types)
        type_mentor = np.array([t[0] for t in self.types], dtype=np.int64)
        places = {m: int(assignment.places[m]) for m in self.mentors}
        z_mentor = np.array([m for m in self.mentors for _ in range(places[m])], dtype=np.int64)
        z_rank = np.array([k for m in self.mentors for k in range(places[m])], dtype=np.float64)
        nz = len(z_mentor)
        self.offset_n, self.offset_z = nx, nx + nt
        columns = nx + nt + nz
        cost = np.concatenate([candidates.search_score[self.x_pair], np.zeros(nt), -cohort.load_weight * z_rank])
        upper = np.concatenate([np.ones(nx), np.array([places[m] for m in type_mentor], dtype=np.float64), np.ones(nz)])
        integrality = [highspy.HighsVarType.kInteger] * (nx + nt) + [highspy.HighsVarType.kContinuous] * nz

        # Rows, built as (row, column, value) triplets.
        rows, cols, vals, lower, upper_rows = [], [], [], [], []
        row = 0
        mentee_list, mentee_row = np.unique(self.x_mentee, return_inverse=True)
        rows.append(mentee_row); cols.append(np.arange(nx)); vals.append(np.ones(nx))
        lower.append(np.full(len(mentee_list), -highspy.kHighsInf)); upper_rows.append(np.ones(len(mentee_list)))
        row += len(mentee_list)
        # sum x - max n <= 0 and sum x - min n >= 0, per type.
        for bound_size, low, high in ((size_max, -highspy.kHighsInf, 0.0), (size_min, 0.0, highspy.kHighsInf)):
            rows.append(row + self.x_type); cols.append(np.arange(nx)); vals.append(np.ones(nx))
            rows.append(row + np.arange(nt)); cols.append(nx + np.arange(nt)); vals.append(np.full(nt, -float(bound_size)))
            lower.append(np.full(nt, low)); upper_rows.append(np.full(nt, high))
            row += nt
        # x - n <= 0.
        rows.append(row + np.arange(nx)); cols.append(np.arange(nx)); vals.append(np.ones(nx))
        rows.append(row + np.arange(nx)); cols.append(nx + self.x_type); vals.append(-np.ones(nx))
        lower.append(np.full(nx, -highspy.kHighsInf)); upper_rows.append(np.zeros(nx))
        row += nx
        # sum_c n - sum_k z = 0, per mentor.
        mentor_row = {m: k for k, m in enumerate(self.mentors)}
        rows.append(row + np.array([mentor_row[m] for m in type_mentor], dtype=np.int64)); cols.append(nx + np.arange(nt)); vals.append(np.ones(nt))
        rows.append(row + np.array([mentor_row[m] for m in z_mentor], dtype=np.int64)); cols.append(nx + nt + np.arange(nz)); vals.append(-np.ones(nz))
        lower.append(np.zeros(len(self.mentors))); upper_rows.append(np.zeros(len(self.mentors)))
        row += len(self.mentors)

        r, c, v = (np.concatenate(part) for part in (rows, cols, vals))
        order = np.lexsort((c, r))
        r, c, v = r[order], c[order], v[order]
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = columns, row
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, np.zeros(columns), upper
        lp.row_lower_, lp.row_upper_ = np.concatenate(lower), np.concatenate(upper_rows)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = columns, row
        lp.a_matrix_.start_ = np.searchsorted(r, np.arange(row + 1)).astype(np.int32)
        lp.a_matrix_.index_ = c.astype(np.int32)
        lp.a_matrix_.value_ = v
        lp.integrality_ = integrality
        lp.sense_ = highspy.ObjSense.kMaximize
        self.lp = lp
        self.z_mentor, self.z_rank = z_mentor, z_rank
        self.columns = columns

    def start(self):
        """The current assignment of these mentors as a solution vector (a warm start)."""
        assignment, candidates = self.assignment, self.assignment.candidates
        value = np.zeros(self.columns)
        where = {t: k for k, t in enumerate(self.types)}
        x_key = {(int(p), int(t)): k for k, (p, t) in enumerate(zip(self.x_pair, self.x_type))}
        for mentor in self.mentors:
            groups = assignment.mentor_groups[mentor]
            for z in range(len(groups)):
                value[self.offset_z + int(np.flatnonzero((self.z_mentor == mentor))[z])] = 1.0
            for group in groups:
                _, language, slot, mode, members = assignment.groups[group]
                t = where[(mentor, language, slot, mode)]
                value[self.offset_n + t] += 1
                for pair in candidates.find(np.array(members), np.full(len(members), mentor)).tolist():
                    value[x_key[(pair, t)]] = 1.0
        return value

    def value(self, solution):
        return float(self.lp.col_cost_ @ solution)

    def solve(self, start=None, nodes=200, seconds=5.0, seed=0, gap=1e-4, options=None):
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        highs.setOptionValue("random_seed", int(seed) % 2147483647)
        highs.setOptionValue("presolve", "off")
        highs.setOptionValue("mip_max_nodes", int(nodes))
        highs.setOptionValue("mip_rel_gap", gap)
        highs.setOptionValue("time_limit", float(seconds))
        for name, value in (FAST if options is None else options).items():
            highs.setOptionValue(name, value)
        highs.passModel(self.lp)
        if start is not None:
            highs.setSolution(self.columns, np.arange(self.columns, dtype=np.int32), start)
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        timed_out = status == highspy.HighsModelStatus.kTimeLimit
        if info.primal_solution_status != 2:  # no feasible solution
            return None, None, timed_out, info
        return np.asarray(highs.getSolution().col_value), info.objective_function_value, timed_out, info

    def groups(self, solution):
        """Decode a solution: [(mentor, language, slot, mode, members)], groups of one type split
        evenly."""
        out = []
        chosen = np.flatnonzero(solution[:len(self.x_pair)] > 0.5)
        chosen = chosen[np.lexsort((self.x_mentee[chosen], self.x_type[chosen]))]
        edges = np.searchsorted(self.x_type[chosen], np.arange(len(self.types) + 1))
        for t, (mentor, language, slot, mode) in enumerate(self.types):
            count = int(round(solution[self.offset_n + t]))
            if count <= 0:
                continue
            members = self.x_mentee[chosen[edges[t]:edges[t + 1]]].tolist()
            for part in np.array_split(np.array(members, dtype=np.int64), count):
                out.append((mentor, language, slot, mode, part.tolist()))
        return out
