"""The matching engine (matching.engine.solve and its command line) on plain data: each hard
constraint keeps a mentee out with the binding reason, groups never break a rule, the answer is
deterministic, the engine never does worse than its greedy start, and the CLI round-trips."""
import copy
import json
import pathlib
import random
import subprocess
import sys

import pytest
from marshmallow import ValidationError

from coalition_common import codes
from matching import rules
from matching.engine import solve

SERVICE = pathlib.Path(__file__).resolve().parents[2] / "services" / "matching"
SETTINGS = {"group_size_min": 3, "group_size_max": 5, "min_language_level": "B1", "rule_set": "auto",
            "weights": {}, "seed": 0, "time_limit_seconds": 60}


def mentee(number, **fields):
    base = {"id": f"e{number}", "target_occupation": "2512", "occupation": "2512", "years_experience": 5,
            "languages": [{"code": "en", "level": "B2"}], "region": "CA-ON", "modes": ["in_person", "virtual"],
            "availability": ["mon_evening", "tue_evening"], "goals": ["job_search"], "preferences": {},
            "needs_communication_support": False, "waiting_days": 10}
    return {**base, **fields}


def mentor(number, **fields):
    base = {"id": f"t{number}", "partner_id": "p1", "occupations": ["2512"], "languages": [{"code": "en", "level": "native"}],
            "region": "CA-ON", "modes": ["in_person", "virtual"], "availability": ["mon_evening"],
            "years_experience": 12, "places": 1, "supports_communication_needs": False}
    return {**base, **fields}


def instance(mentees, mentors, **settings):
    return {"settings": {**SETTINGS, **settings}, "mentees": mentees, "mentors": mentors}


def reasons(result):
    return {item["mentee_id"]: item["reason"] for item in result["unplaced"]}


def random_instance(seed, mentees=80, mentors=24):
    """A small seeded world: few occupations, languages, regions and slots, so groups form and
    every hard rule bites somewhere."""
    rng = random.Random(seed)
    occupations = ["2221", "2222", "2211", "2142", "2144", "2611", "2330", "2512", "2513", "2411"]
    slots = ["mon_evening", "tue_evening", "sat_morning", "sun_afternoon"]

    def person(kind, k):
        languages = [{"code": code, "level": rng.choice(("A2", "B1", "B2", "C1", "native"))}
                     for code in rng.sample(["en", "fr", "ar"], rng.randint(1, 2))]
        common = {"id": f"{kind}{k}", "languages": languages, "region": rng.choice(["CA-ON", "CA-ON", "CA-QC"]),
                  "modes": rng.sample(codes.MODES, rng.randint(1, 3)), "availability": rng.sample(slots, rng.randint(1, 3)),
                  "years_experience": rng.randint(1, 20)}
        if kind == "e":
            return {**common, "target_occupation": rng.choice(occupations), "goals": rng.sample(codes.GOALS, rng.randint(0, 3)),
                    "preferences": {}, "needs_communication_support": rng.random() < 0.2, "waiting_days": rng.randint(0, 200)}
        return {**common, "partner_id": f"p{k % 3}", "occupations": rng.sample(occupations, rng.randint(1, 2)),
                "places": rng.randint(0, 2), "supports_communication_needs": rng.random() < 0.3,
                "eligible": rng.random() > 0.1, "visible": rng.random() > 0.1}

    return instance([person("e", k) for k in range(mentees)], [person("t", k) for k in range(mentors)], seed=seed)


def without_clock(result):
    result = copy.deepcopy(result)
    result["summary"].pop("wall_seconds")
    return result


def test_a_mentor_below_the_language_level_leaves_the_mentees_unplaced_with_that_reason():
    mentees = [mentee(k, languages=[{"code": "ar", "level": "native"}, {"code": "en", "level": "A2"}]) for k in range(3)]
    weak = mentor(1, languages=[{"code": "en", "level": "native"}, {"code": "ar", "level": "A2"}])
    result = solve(instance(mentees, [weak]))
    assert result["groups"] == []
    assert set(reasons(result).values()) == {"no_mentor_with_language_level"}
    assert "ar" in result["unplaced"][0]["detail"] and "B1" in result["unplaced"][0]["detail"]
    # The same mentor at B1 in Arabic takes them: the level alone decided.
    able = mentor(1, languages=[{"code": "en", "level": "native"}, {"code": "ar", "level": "B1"}])
    placed = solve(instance(mentees, [able]))
    assert [sorted(g["mentee_ids"]) for g in placed["groups"]] == [["e0", "e1", "e2"]]
    assert placed["groups"][0]["common"]["language"] == "ar"


@pytest.mark.parametrize("mentee_change, mentor_change, reason", [
    ({"target_occupation": "2221"}, {}, "no_mentor_for_sector_rule"),
    ({"modes": ["in_person"], "region": "CA-QC"}, {}, "no_mentor_in_region_or_mode"),
    ({"availability": ["sun_morning"]}, {}, "no_mentor_with_common_slot"),
    ({}, {"places": 0}, "compatible_mentors_full"),
    ({}, {"eligible": False}, "no_mentor_for_sector_rule"),
    ({}, {"visible": False}, "no_mentor_for_sector_rule"),
])
def test_each_hard_rule_keeps_a_mentee_out_with_its_reason(mentee_change, mentor_change, reason):
    mentees = [mentee(0, **mentee_change), mentee(1), mentee(2), mentee(3)]
    result = solve(instance(mentees, [mentor(1, **mentor_change)]))
    assert reasons(result)["e0"] == reason
    if not mentor_change:
        assert [sorted(g["mentee_ids"]) for g in result["groups"]] == [["e1", "e2", "e3"]]


def test_too_few_mentees_for_a_group():
    result = solve(instance([mentee(0), mentee(1)], [mentor(1)]))
    assert result["groups"] == []
    assert set(reasons(result).values()) == {"too_few_compatible_mentees"}


def test_a_full_mentor_takes_at_most_its_places_and_groups_stay_within_size():
    result = solve(instance([mentee(k) for k in range(12)], [mentor(1, places=2)]))
    assert len(result["groups"]) == 2
    assert all(3 <= len(g["mentee_ids"]) <= 5 for g in result["groups"])
    assert len(result["unplaced"]) == 2
    assert set(reasons(result).values()) == {"compatible_mentors_full"}
    assert result["summary"]["groups_per_mentor"] == {"2": 1}


def test_a_group_across_regions_meets_virtually():
    mentees = [mentee(0, region="CA-QC", modes=["virtual"]), mentee(1), mentee(2)]
    result = solve(instance(mentees, [mentor(1)]))
    assert result["groups"][0]["common"]["mode"] == "virtual"
    assert "region" not in result["groups"][0]["common"]


def test_no_group_breaks_a_hard_rule_and_everyone_is_accounted_for():
    for seed in (1, 2):
        problem = random_instance(seed)
        result = solve(problem)
        mentors = {m["id"]: m for m in problem["mentors"]}
        mentees = {m["id"]: m for m in problem["mentees"]}
        placed = [i for g in result["groups"] for i in g["mentee_ids"]]
        assert len(placed) == len(set(placed))
        assert set(placed) | set(reasons(result)) == set(mentees) and not set(placed) & set(reasons(result))
        assert all(item["reason"] in rules.REASONS and item["detail"] for item in result["unplaced"])
        per_mentor = {}
        for group in result["groups"]:
            per_mentor[group["mentor_id"]] = per_mentor.get(group["mentor_id"], 0) + 1
            assert rules.group_problems(problem["settings"], mentors[group["mentor_id"]],
                                        [mentees[i] for i in group["mentee_ids"]]) == []
            assert [m["mentee_id"] for m in group["members"]] == group["mentee_ids"]
            for member in group["members"]:
                assert member["criteria"] and member["score"] == pytest.approx(sum(member["breakdown"].values()), abs=1e-3)
        assert all(count <= mentors[m]["places"] for m, count in per_mentor.items())
        assert result["groups"], "the random world should form groups"
        summary = result["summary"]
        assert summary["objective"] <= summary["bound"] + 1e-6
        assert summary["waste"] == 0


def test_the_same_instance_and_seed_give_the_same_answer():
    problem = random_instance(3, mentees=120, mentors=36)
    first, second = solve(copy.deepcopy(problem)), solve(copy.deepcopy(problem))
    assert json.dumps(without_clock(first), sort_keys=True) == json.dumps(without_clock(second), sort_keys=True)
    assert first["summary"]["time_limited"] is False


def test_the_engine_never_does_worse_than_its_greedy_start():
    problem = random_instance(4, mentees=150, mentors=45)
    engine = solve(copy.deepcopy(problem))
    greedy = solve({**problem, "settings": {**problem["settings"], "method": "greedy"}})
    assert greedy["summary"]["method"] == "greedy"
    assert engine["summary"]["objective"] >= greedy["summary"]["objective"] - 1e-6
    assert engine["summary"]["placed_share"] >= greedy["summary"]["placed_share"]


def test_summary_reports_the_run():
    result = solve(random_instance(5))
    summary = result["summary"]
    for key in ("objective", "bound", "gap", "placed_share", "hard_to_match_share_placed", "groups_per_mentor",
                "wall_seconds", "method", "seed", "mentees", "mentors", "waste", "envy", "time_limited"):
        assert key in summary
    assert 0 <= summary["gap"] <= 1 and summary["seed"] == 5 and summary["method"] == "engine"
    assert sum(int(k) * v for k, v in summary["groups_per_mentor"].items()) == len(result["groups"])


def test_invalid_settings_are_refused_naming_the_field():
    with pytest.raises(ValidationError) as caught:
        solve(instance([mentee(0)], [mentor(1)], weights={"goals": 9}))
    assert "weights" in caught.value.messages


def test_an_empty_instance_is_answered():
    result = solve(instance([], []))
    assert result["groups"] == [] and result["unplaced"] == [] and result["summary"]["placed_share"] == 0


def test_the_command_line_round_trips(tmp_path):
    problem = random_instance(6, mentees=40, mentors=12)
    path = tmp_path / "instance.json"
    path.write_text(json.dumps(problem))
    run = subprocess.run([sys.executable, "-m", "matching.engine", "-", "--progress", "--seed", "6"],
                         input=json.dumps(problem), capture_output=True, text=True, cwd=SERVICE, timeout=120, check=True)
    result = json.loads(run.stdout)
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert lines and all(set(line) == {"phase", "percent"} for line in lines)
    assert lines[-1] == {"phase": "done", "percent": 100}
    assert without_clock(result) == without_clock(json.loads(json.dumps(solve(problem))))
    from_file = subprocess.run([sys.executable, "-m", "matching.engine", str(path)], capture_output=True, text=True,
                               cwd=SERVICE, timeout=120, check=True)
    assert without_clock(json.loads(from_file.stdout)) == without_clock(result)


def test_the_command_line_refuses_bad_settings_on_stderr():
    problem = instance([mentee(0)], [mentor(1)], rule_set="plumbing")
    run = subprocess.run([sys.executable, "-m", "matching.engine", "-"], input=json.dumps(problem), capture_output=True,
                         text=True, cwd=SERVICE, timeout=60)
    assert run.returncode == 2 and run.stdout == ""
    assert "rule_set" in json.loads(run.stderr.strip().splitlines()[-1])["fields"]
