"""The matching engine against the greedy baseline on synthetic coalitions (issue 8's benchmark):
for each size, wall time, peak memory, share placed, share of the hard-to-match placed,
objective, bound and objective / bound; at 2,000 mentees also the exact optimum of the
aggregated MILP (HiGHS, 300 s) and objective / optimum. Then each figure against its target.
A bench prints; it never asserts.

Each solve runs in a child process of its own (the instance generated there from its seed), so
its wall time and peak memory are its own: peak memory is the largest resident size of the
child's process tree, sampled every 20 ms, and never below the child's own getrusage peak.
No broker or database is needed.

    .venv/bin/python bench/matching.py                       # 2,000 x seeds 1-3, 20,000 and 50,000 x seed 1
    .venv/bin/python bench/matching.py --sizes 2000 --seeds 1,2 --milp-time-limit 60
    .venv/bin/python bench/matching.py --sizes 20000 --methods engine --no-milp
"""
import argparse
import gc
import importlib.util
import json
import os
import pathlib
import platform as machine
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import psutil

HERE = pathlib.Path(__file__).resolve().parent
# Run as a script, this file's folder comes first on the path and its name would hide the
# `matching` service package: take the folder off and load the generator by its path.
sys.path[:] = [entry for entry in sys.path if pathlib.Path(entry or ".").resolve() != HERE]
_spec = importlib.util.spec_from_file_location("coalitions", HERE / "coalitions.py")
coalitions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coalitions)

# Mentees -> mentors (four mentees per mentor, as in the issue).
SIZES = {2000: 500, 20000: 5000, 50000: 12500}
# The wall-time targets; the engine is given its target minus a second as time limit.
TARGET_SECONDS = {2000: 10, 20000: 30, 50000: 120}
TARGET_MEMORY_MB = {20000: 2048}
TARGET_OF_BOUND = {20000: 0.965}
TARGET_OF_OPTIMUM = {2000: 0.97}
HARD_TO_MATCH_LEAD = 0.10  # hard-to-match share placed >= greedy's + 10 points
METHODS = ("engine", "greedy")


# ---- one solve in a child process -------------------------------------------------------------

def child(mentees, mentors, seed, method, time_limit, out):
    """Generate the instance, solve it once, write the figures to `out` (runs in the child)."""
    # The solvers' libraries print banners on stdout; the bench's own lines are the parent's.
    sys.stdout.flush()
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), sys.stdout.fileno())
    from matching import engine

    instance = coalitions.generate(mentees, mentors, seed=seed)
    instance["settings"]["method"] = method
    if time_limit is not None:
        instance["settings"]["time_limit_seconds"] = time_limit
    gc.collect()
    started = time.perf_counter()
    result = engine.solve(instance)
    wall = time.perf_counter() - started
    # VmHWM, not getrusage: Linux carries ru_maxrss over exec from the parent that forked us.
    own = _high_water_mb()
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    with open(out, "w") as handle:
        json.dump({"wall": wall, "own_peak_mb": own, "children_peak_mb": children, "summary": result["summary"],
                   "groups": [{"mentor_id": g["mentor_id"], "mentee_ids": g["mentee_ids"]} for g in result["groups"]],
                   "reasons": _count([item["reason"] for item in result["unplaced"]])}, handle)


def _high_water_mb():
    """This process's peak resident size (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _quiet_highs():
    """A Highs instance, without the banner its constructor prints on stdout."""
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 1)
            solver = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    return solver


def _count(values):
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def run_child(mentees, mentors, seed, method, time_limit):
    """Solve in a child process; its figures, with the tree's sampled peak memory."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "result.json")
        command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child",
                   json.dumps([mentees, mentors, seed, method, time_limit, out])]
        process = subprocess.Popen(command, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        watched = psutil.Process(process.pid)
        peak = 0
        while process.poll() is None:
            try:
                tree = [watched] + watched.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.02)
        if process.returncode != 0 or not os.path.exists(out):
            return {"error": f"the child exited with {process.returncode}"}
        with open(out) as handle:
            figures = json.load(handle)
    figures["peak_mb"] = max(peak / 2**20, figures["own_peak_mb"])
    return figures


# ---- the exact optimum at 2,000: the aggregated MILP, strengthened ----------------------------

def _bits(values, width):
    """Bit positions set in each value: a (values, width) boolean array."""
    values = np.asarray(values, dtype=np.uint64)
    return ((values[:, None] >> np.arange(width, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(bool)


def exact_optimum(instance, time_limit=300.0):
    """The aggregated MILP of MATCHING-NOTES.md solved by HiGHS: x[i,m,c] binary (mentee i in a
    group of mentor m meeting in archetype c = language, slot, mode), n[m,c] integer groups,
    3 n <= sum_i x <= 5 n, x <= n, each mentee once, each mentor's groups within its places, and
    the engine's own objective: pair scores minus the load penalty (the k-th group of a mentor
    costs load x (k - 1)). Pairs, archetypes and scores come from the engine's own rules
    (`matching.rules`, `matching.engine.candidates`), over every feasible pair (no top-K cut).
    Returns {objective, dual_bound, status, seconds, columns, rows}."""
    import highspy
    from scipy.sparse import csc_matrix

    from matching import rules
    from matching.engine import candidates

    cohort = rules.Cohort(instance["settings"], instance["mentees"], instance["mentors"])
    pairs = candidates.build(cohort, limit=max(1, cohort.mentors))
    size_min, size_max = cohort.size_min, cohort.size_max
    words = pairs.languages.shape[1]
    language_bits = np.concatenate([_bits(pairs.languages[:, w], 64) for w in range(words)], axis=1)
    slot_bits = _bits(pairs.slots, 32)
    mode_bits = _bits(pairs.modes, 8)
    # Every (pair, language, slot, mode) both accept: one x column each.
    pair_index, language, slot, mode = [], [], [], []
    for lang in np.flatnonzero(language_bits.any(0)):
        for mo in np.flatnonzero(mode_bits.any(0)):
            both = language_bits[:, lang] & mode_bits[:, mo]
            for sl in np.flatnonzero(slot_bits[both].any(0)):
                chosen = np.flatnonzero(both & slot_bits[:, sl])
                pair_index.append(chosen)
                language.append(np.full(len(chosen), lang))
                slot.append(np.full(len(chosen), sl))
                mode.append(np.full(len(chosen), mo))
    pair_index = np.concatenate(pair_index) if pair_index else np.zeros(0, dtype=np.int64)
    language, slot, mode = (np.concatenate(a) if a else np.zeros(0, dtype=np.int64) for a in (language, slot, mode))
    mentee, mentor, score = pairs.mentee[pair_index], pairs.mentor[pair_index].astype(np.int64), pairs.score[pair_index]
    key = ((mentor * (64 * words) + language) * 32 + slot) * 8 + mode
    group_keys, group_of = np.unique(key, return_inverse=True)
    group_mentor = group_keys // (8 * 32 * 64 * words)
    columns_x, columns_n = len(pair_index), len(group_keys)
    places = cohort.places
    # Load columns y[m,k], k = 2..places: the k-th group of a mentor.
    load_mentor, load_rank = [], []
    for m in np.unique(group_mentor):
        for k in range(2, int(places[m]) + 1):
            load_mentor.append(m)
            load_rank.append(k)
    load_mentor, load_rank = np.array(load_mentor, dtype=np.int64), np.array(load_rank, dtype=np.int64)
    columns_y = len(load_mentor)
    x0, n0, y0 = 0, columns_x, columns_x + columns_n
    columns = columns_x + columns_n + columns_y

    rows, cols, vals, lower, upper = [], [], [], [], []
    row = 0

    def add(r, c, v):
        rows.append(np.asarray(r, dtype=np.int64))
        cols.append(np.asarray(c, dtype=np.int64))
        vals.append(np.asarray(v, dtype=np.float64))

    # Each mentee at most once.
    mentees_used, mentee_row = np.unique(mentee, return_inverse=True)
    add(row + mentee_row, x0 + np.arange(columns_x), np.ones(columns_x))
    lower.append(np.full(len(mentees_used), -highspy.kHighsInf))
    upper.append(np.ones(len(mentees_used)))
    row += len(mentees_used)
    # size_min n <= sum_i x <= size_max n, per group variable.
    for bound, sign in ((size_min, "lower"), (size_max, "upper")):
        add(row + group_of, x0 + np.arange(columns_x), np.ones(columns_x))
        add(row + np.arange(columns_n), n0 + np.arange(columns_n), np.full(columns_n, -float(bound)))
        if sign == "lower":
            lower.append(np.zeros(columns_n))
            upper.append(np.full(columns_n, highspy.kHighsInf))
        else:
            lower.append(np.full(columns_n, -highspy.kHighsInf))
            upper.append(np.zeros(columns_n))
        row += columns_n
    # x[i,m,c] <= n[m,c]: the strengthening that makes the relaxation nearly tight.
    add(row + np.arange(columns_x), x0 + np.arange(columns_x), np.ones(columns_x))
    add(row + np.arange(columns_x), n0 + group_of, -np.ones(columns_x))
    lower.append(np.full(columns_x, -highspy.kHighsInf))
    upper.append(np.zeros(columns_x))
    row += columns_x
    # A mentor's groups: sum_c n[m,c] <= 1 + sum_k y[m,k] (y[m,k] <= 1; the k-th group costs).
    mentors_used, mentor_row = np.unique(group_mentor, return_inverse=True)
    add(row + mentor_row, n0 + np.arange(columns_n), np.ones(columns_n))
    if columns_y:
        add(row + np.searchsorted(mentors_used, load_mentor), y0 + np.arange(columns_y), -np.ones(columns_y))
    lower.append(np.full(len(mentors_used), -highspy.kHighsInf))
    upper.append(np.minimum(1, places[mentors_used]).astype(np.float64))
    row += len(mentors_used)

    matrix = csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(row, columns))
    matrix.sort_indices()
    model = highspy.HighsLp()
    model.num_col_, model.num_row_ = columns, row
    model.sense_ = highspy.ObjSense.kMaximize
    model.col_cost_ = np.concatenate([score, np.zeros(columns_n), -cohort.load_weight * (load_rank - 1)]).astype(np.float64)
    model.col_lower_ = np.zeros(columns)
    model.col_upper_ = np.concatenate([np.ones(columns_x), places[group_mentor].astype(np.float64), np.ones(columns_y)])
    model.row_lower_, model.row_upper_ = np.concatenate(lower), np.concatenate(upper)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    model.a_matrix_.index_ = matrix.indices.astype(np.int32)
    model.a_matrix_.value_ = matrix.data
    model.a_matrix_.num_col_, model.a_matrix_.num_row_ = columns, row
    model.integrality_ = ([highspy.HighsVarType.kInteger] * (columns_x + columns_n)
                          + [highspy.HighsVarType.kContinuous] * columns_y)
    solver = _quiet_highs()
    solver.setOptionValue("output_flag", False)
    solver.setOptionValue("time_limit", float(time_limit))
    solver.setOptionValue("mip_rel_gap", 1e-6)
    solver.passModel(model)
    started = time.perf_counter()
    solver.run()
    seconds = time.perf_counter() - started
    info = solver.getInfo()
    status = solver.modelStatusToString(solver.getModelStatus())
    objective = info.objective_function_value if info.primal_solution_status else None
    return {"objective": objective, "dual_bound": info.mip_dual_bound, "status": status, "seconds": seconds,
            "columns": columns, "rows": row}


# ---- the engine's objective, recomputed from its groups ---------------------------------------

def recomputed_objective(instance, groups):
    """Sum of the members' pair scores minus each mentor's load penalty, from `matching.rules`:
    the same objective the MILP maximises, so objective / optimum compares like with like."""
    from matching import rules

    cohort = rules.Cohort(instance["settings"], instance["mentees"], instance["mentors"])
    mentee_at = {mentee_id: n for n, mentee_id in enumerate(cohort.mentee_ids)}
    mentor_at = {mentor_id: n for n, mentor_id in enumerate(cohort.mentor_ids)}
    i = np.array([mentee_at[mentee_id] for g in groups for mentee_id in g["mentee_ids"]], dtype=np.int64)
    m = np.array([mentor_at[g["mentor_id"]] for g in groups for _ in g["mentee_ids"]], dtype=np.int64)
    total = float(rules.pair_scores(cohort, i, m).sum()) if len(i) else 0.0
    per_mentor = np.bincount([mentor_at[g["mentor_id"]] for g in groups], minlength=cohort.mentors)
    return total - float(rules.load_penalty(cohort.load_weight, per_mentor).sum())


# ---- the table ---------------------------------------------------------------------------------

def fmt(value, pattern="{:.1f}", empty="—"):
    return empty if value is None else pattern.format(value)


def ratio(numerator, denominator):
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="2000,20000,50000", help="mentee counts (mentors are a quarter)")
    parser.add_argument("--seeds", default=None, help="seeds for every size (default: 1,2,3 at 2,000; 1 above)")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--time-limit", type=float, default=None,
                        help="the engine's settings.time_limit_seconds (default: the size's target minus 1 s)")
    parser.add_argument("--milp-time-limit", type=float, default=300.0)
    parser.add_argument("--no-milp", action="store_true", help="skip the exact MILP at 2,000")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*json.loads(args.child))
        return

    sizes = [int(size) for size in args.sizes.split(",") if size]
    methods = [method for method in args.methods.split(",") if method]
    print(f"# Matching bench — {machine.node()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GB, Python {machine.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f} (other work on the machine slows every figure)")
    rows = []
    for size in sizes:
        mentors = SIZES.get(size, size // 4)
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else ([1, 2, 3] if size <= 2000 else [1])
        limit = args.time_limit if args.time_limit is not None else TARGET_SECONDS.get(size, 30) - 1
        for seed in seeds:
            instance = coalitions.generate(size, mentors, seed=seed)
            print(f"\n## {size:,} mentees / {mentors:,} mentors, seed {seed}: {coalitions.describe(instance)}", flush=True)
            optimum = None
            if size <= 2000 and not args.no_milp:
                optimum = exact_optimum(instance, args.milp_time_limit)
                print(f"MILP (HiGHS, {args.milp_time_limit:g} s limit): {optimum['status']}, objective "
                      f"{fmt(optimum['objective'], '{:.2f}')}, dual bound {optimum['dual_bound']:.2f}, "
                      f"{optimum['seconds']:.0f} s, {optimum['columns']:,} columns x {optimum['rows']:,} rows", flush=True)
            for method in methods:
                figures = run_child(size, mentors, seed, method, limit)
                row = {"size": size, "mentors": mentors, "seed": seed, "method": method, **figures,
                       "optimum": optimum["objective"] if optimum else None,
                       "optimum_bound": optimum["dual_bound"] if optimum else None}
                if "error" not in figures:
                    summary = figures["summary"]
                    row["recomputed"] = recomputed_objective(instance, figures["groups"])
                    print(f"{method}: {figures['wall']:.1f} s, peak {figures['peak_mb']:.0f} MB, placed "
                          f"{summary['placed_share']:.1%}, hard-to-match {summary['hard_to_match_share_placed']:.1%} "
                          f"(matchable {fmt(summary.get('hard_to_match_matchable_share_placed'), '{:.1%}')}), "
                          f"objective {summary['objective']:.2f} (recomputed {row['recomputed']:.2f}), bound "
                          f"{summary['bound']:.2f}; groups per mentor {summary.get('groups_per_mentor')}; "
                          f"unplaced {figures['reasons']}", flush=True)
                else:
                    print(f"{method}: {figures['error']}", flush=True)
                rows.append(row)
    report(rows)
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


def report(rows):
    print("\n## Results\n")
    print("| Mentees / mentors | Seed | Method | Wall s | Peak MB | Placed | Hard-to-match placed (matchable) | "
          "Objective | Bound | Obj / bound | MILP best (dual bound) | Obj / MILP best |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if "error" in row:
            print(f"| {row['size']:,} / {row['mentors']:,} | {row['seed']} | {row['method']} | {row['error']} |||||||||")
            continue
        summary = row["summary"]
        optimum = row["optimum"]
        print(f"| {row['size']:,} / {row['mentors']:,} | {row['seed']} | {row['method']} | {row['wall']:.1f} | "
              f"{row['peak_mb']:.0f} | {summary['placed_share']:.1%} | {summary['hard_to_match_share_placed']:.1%} "
              f"({fmt(summary.get('hard_to_match_matchable_share_placed'), '{:.1%}')}) | "
              f"{summary['objective']:.1f} | {summary['bound']:.1f} | "
              f"{fmt(ratio(summary['objective'], summary['bound']), '{:.1%}')} | {fmt(optimum, '{:.1f}')}"
              f"{fmt(row['optimum_bound'], ' ({:.1f})', '')} | "
              f"{fmt(ratio(summary['objective'], optimum), '{:.1%}')} |")

    print("\n## Against the targets (issue 8, done when 2)\n")
    solved = [row for row in rows if "error" not in row]
    engine_rows = [row for row in solved if row["method"] == "engine"]
    greedy = {(row["size"], row["seed"]): row for row in solved if row["method"] == "greedy"}

    def verdict(ok):
        return "met" if ok else "NOT met"

    for row in engine_rows:
        size, seed, summary = row["size"], row["seed"], row["summary"]
        lines = []
        if size in TARGET_SECONDS:
            lines.append(f"wall {row['wall']:.1f} s <= {TARGET_SECONDS[size]} s: {verdict(row['wall'] <= TARGET_SECONDS[size])}")
        if size in TARGET_MEMORY_MB:
            lines.append(f"peak {row['peak_mb']:.0f} MB <= {TARGET_MEMORY_MB[size]} MB: "
                         f"{verdict(row['peak_mb'] <= TARGET_MEMORY_MB[size])}")
        if size in TARGET_OF_BOUND:
            share = ratio(summary["objective"], summary["bound"])
            lines.append(f"objective / bound {share:.2%} >= {TARGET_OF_BOUND[size]:.1%}: {verdict(share >= TARGET_OF_BOUND[size])}")
        if size in TARGET_OF_OPTIMUM:
            share = ratio(summary["objective"], row["optimum"])
            if share is None:
                lines.append("objective / MILP optimum: no MILP figure")
            else:
                proven = "" if row["optimum_bound"] is None else f" (MILP dual bound {row['optimum_bound']:.2f})"
                lines.append(f"objective / MILP optimum {share:.2%} >= {TARGET_OF_OPTIMUM[size]:.0%}{proven}: "
                             f"{verdict(share >= TARGET_OF_OPTIMUM[size])}")
        base = greedy.get((size, seed))
        if base:
            placed, placed_greedy = summary["placed_share"], base["summary"]["placed_share"]
            hard, hard_greedy = summary["hard_to_match_share_placed"], base["summary"]["hard_to_match_share_placed"]
            lines.append(f"placed {placed:.1%} >= greedy's {placed_greedy:.1%}: {verdict(placed >= placed_greedy)}")
            lines.append(f"hard-to-match {hard:.1%} >= greedy's {hard_greedy:.1%} + 10 points: "
                         f"{verdict(hard >= hard_greedy + HARD_TO_MATCH_LEAD - 1e-9)}")
            matchable = summary.get("hard_to_match_matchable_share_placed")
            matchable_greedy = base["summary"].get("hard_to_match_matchable_share_placed")
            if matchable is not None and matchable_greedy is not None:
                lines.append(f"(of the mentees with a feasible mentor: {matchable:.1%} vs greedy's {matchable_greedy:.1%}: "
                             f"{verdict(matchable >= matchable_greedy + HARD_TO_MATCH_LEAD - 1e-9)}; "
                             f"{summary.get('unmatchable')} mentees have no feasible mentor at all)")
        if abs(row["recomputed"] - summary["objective"]) > 1e-3 * max(1.0, abs(summary["objective"])):
            lines.append(f"note: the reported objective {summary['objective']:.2f} differs from the one recomputed "
                         f"from the groups ({row['recomputed']:.2f})")
        print(f"- {size:,} seed {seed}: " + "; ".join(lines))


if __name__ == "__main__":
    main()
