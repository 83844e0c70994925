"""The matching rules (matching.rules): the shipped rule sets, settings checks, the hard rules and
criteria, and that the engine's vectorised evaluation and the review's scalar checks agree
(one definition per rule)."""
import random

import numpy as np
import pytest
from marshmallow import ValidationError

from coalition_common import codes
from matching import rules
from matching.engine.candidates import stage_masks

SETTINGS = {"group_size_min": 1, "group_size_max": 5, "min_language_level": "B1", "rule_set": "auto", "weights": {}}


def mentee(**fields):
    base = {"id": "e1", "target_occupation": "2512", "occupation": "2512", "years_experience": 5,
            "languages": [{"code": "en", "level": "B2"}], "region": "CA-ON", "modes": ["in_person", "virtual"],
            "availability": ["mon_evening", "tue_evening"], "goals": ["job_search"], "preferences": {},
            "needs_communication_support": False, "waiting_days": 30}
    return {**base, **fields}


def mentor(**fields):
    base = {"id": "t1", "partner_id": "p1", "occupations": ["2512"], "languages": [{"code": "en", "level": "native"}],
            "region": "CA-ON", "modes": ["in_person", "virtual"], "availability": ["mon_evening"],
            "years_experience": 12, "places": 1, "supports_communication_needs": False}
    return {**base, **fields}


def test_every_rule_set_names_every_weight_with_a_default_inside_its_bounds():
    document = rules.rule_sets()
    assert set(document["rule_sets"]) >= {"health", "teaching", "legal", "engineering", "default"}
    for name, spec in document["rule_sets"].items():
        assert set(spec["weights"]) == set(rules.WEIGHT_NAMES), name
        for weight in spec["weights"].values():
            assert weight["min"] <= weight["default"] <= weight["max"]
        assert set(spec["hard_rules"]) <= set(document["sector_rules"])
    assert set(codes.GOALS) <= set(document["goals"])
    # A copy: a caller cannot change the shipped rules.
    document["rule_sets"]["health"]["hard_rules"].clear()
    assert rules.rule_sets()["rule_sets"]["health"]["hard_rules"] == ["same_minor_group"]


@pytest.mark.parametrize("code, expected", [
    ("2221", "health"), ("3221", "health"), ("2330", "teaching"), ("2611", "legal"), ("2142", "engineering"),
    ("3112", "engineering"), ("2151", "default"), ("2512", "default"), ("2631", "default"), (None, "default")])
def test_auto_picks_the_rule_set_of_the_longest_matching_isco_prefix(code, expected):
    assert rules.rule_set_for({"rule_set": "auto"}, code) == expected


def test_a_named_rule_set_applies_to_everyone():
    assert rules.rule_set_for({"rule_set": "health"}, "2512") == "health"


@pytest.mark.parametrize("settings, field, message", [
    ({"rule_set": "plumbing"}, "rule_set", None),
    ({"weights": {"goals": 3.5}}, "weights", {"goals": ["Must be between 0 and 3."]}),
    ({"weights": {"goals": -1}}, "weights", {"goals": ["Must be between 0 and 3."]}),
    ({"weights": {"charisma": 1}}, "weights", None),
    ({"weights": {"goals": "high"}}, "weights", {"goals": ["Not a number."]}),
    ({"group_size_min": 4, "group_size_max": 3}, "group_size_max", None),
    ({"min_language_level": "B3"}, "min_language_level", None),
    ({"method": "magic"}, "method", None),
])
def test_check_settings_names_the_field(settings, field, message):
    with pytest.raises(ValidationError) as caught:
        rules.check_settings(settings)
    assert field in caught.value.messages
    if message is not None:
        assert caught.value.messages[field] == message


def test_check_settings_accepts_overrides_within_bounds():
    rules.check_settings({"rule_set": "health", "weights": {"goals": 3, "load": 0, "occupation": 1.5}})
    rules.check_settings({})


def test_occupation_closeness_follows_the_isco_hierarchy():
    mentors = [mentor(id=f"t{k}", occupations=[code]) for k, code in enumerate(["2512", "2513", "2521", "2411", "7411"])]
    cohort = rules.Cohort(SETTINGS, [mentee()], mentors)
    details = rules.pair_details(cohort, np.zeros(5, dtype=int), np.arange(5))
    assert details["level"].tolist() == [4, 3, 2, 1, 0]
    closeness = details["values"]["occupation"]
    assert all(closeness[k] > closeness[k + 1] for k in range(4))


def test_the_nearest_of_a_mentors_occupations_counts():
    cohort = rules.Cohort(SETTINGS, [mentee()], [mentor(occupations=["7411", "2513"])])
    assert rules.occupation_level(cohort, np.array([0]), np.array([0])).tolist() == [3]


def test_weights_override_the_rule_set_defaults():
    plain = rules.explain_group(SETTINGS, mentor(), [mentee()])
    doubled = rules.explain_group({**SETTINGS, "weights": {"occupation": 4.0}}, mentor(), [mentee()])
    assert plain["members"][0]["breakdown"]["occupation"] == 3.0  # default weight 3 x closeness 1
    assert doubled["members"][0]["breakdown"]["occupation"] == 4.0


def test_goals_score_by_the_data_rules():
    # licensure needs the same minor group and region; networking the same region.
    settings = {**SETTINGS}
    near = rules.explain_group(settings, mentor(occupations=["2513"]), [mentee(goals=["licensure", "networking"])])
    away = rules.explain_group(settings, mentor(occupations=["2513"], region="CA-QC"),
                               [mentee(goals=["licensure", "networking"])])
    assert near["members"][0]["breakdown"]["goals"] == 1.0
    assert away["members"][0]["breakdown"]["goals"] == 0.0
    assert "goals supported: networking, licensure" in near["members"][0]["criteria"]


def test_preferences_and_communication_support_count_only_when_asked_for():
    asked = mentee(preferences={"mentor_gender": "woman"}, needs_communication_support=True)
    met = rules.explain_group(SETTINGS, mentor(gender="woman", supports_communication_needs=True), [asked])
    unmet = rules.explain_group(SETTINGS, mentor(gender="man"), [asked])
    none = rules.explain_group(SETTINGS, mentor(gender="woman", supports_communication_needs=True), [mentee()])
    assert met["members"][0]["breakdown"]["preferences"] > 0
    assert met["members"][0]["breakdown"]["communication_support"] > 0
    assert unmet["members"][0]["breakdown"]["preferences"] == 0
    assert none["members"][0]["breakdown"]["preferences"] == none["members"][0]["breakdown"]["communication_support"] == 0


def test_a_pooled_mentors_explanation_carries_no_trace_of_preference_matching():
    # The programme's partner knows what its mentees asked for, so a preference met (a criterion,
    # a breakdown part, or points hidden in a score) would reveal another partner's mentor's
    # gender and age band.
    asked = [mentee(id="e1", preferences={"mentor_gender": "woman", "mentor_age_band": "40-49"}),
             mentee(id="e2", preferences={"mentor_gender": "woman"})]
    full = rules.explain_group(SETTINGS, mentor(partner_id="p2", gender="woman", age_band="40-49"), asked)
    assert "preferred mentor gender" in full["members"][0]["criteria"]
    preference_points = sum(member["breakdown"]["preferences"] for member in full["members"])
    assert preference_points > 0

    shown = rules.shown_to(full, "p1", "p2")
    for before, member in zip(full["members"], shown["members"]):
        assert "preferences" not in member["breakdown"]
        assert not any("preferred" in criterion for criterion in member["criteria"])
        assert member["score"] == pytest.approx(before["score"] - before["breakdown"]["preferences"], abs=1e-3)
        assert member["score"] == pytest.approx(sum(member["breakdown"].values()), abs=1e-9)
    assert shown["score"] == pytest.approx(full["score"] - preference_points, abs=1e-3)
    assert shown["score"] == pytest.approx(sum(member["score"] for member in shown["members"]), abs=1e-9)
    assert "preferred" not in repr(shown) and "preferences" not in repr(shown)
    # The same as unmet preferences: nothing tells them apart.
    unmet = rules.shown_to(rules.explain_group(SETTINGS, mentor(partner_id="p2", gender="man", age_band="60+"), asked), "p1", "p2")
    assert unmet == shown
    assert rules.shown_to(shown, "p1", "p2") == shown  # idempotent: stored, then shown again
    assert "preferences" in full["members"][0]["breakdown"]  # the input is left as it was

    # The partner's own mentor: everything stays visible.
    own = rules.shown_to(full, "p2", "p2")
    assert own == full
    assert own["members"][0]["breakdown"]["preferences"] > 0
    assert "preferred mentor age band" in own["members"][0]["criteria"]


def test_an_explanation_adds_up():
    group = rules.explain_group(SETTINGS, mentor(), [mentee(id="e1"), mentee(id="e2", waiting_days=400)])
    for member in group["members"]:
        assert member["score"] == pytest.approx(sum(member["breakdown"].values()), abs=1e-3)
    assert group["score"] == pytest.approx(sum(m["score"] for m in group["members"]), abs=1e-3)
    assert group["common"] == {"language": "en", "slot": "mon_evening", "mode": "in_person", "region": "CA-ON"}
    assert group["members"][1]["breakdown"]["waiting_time"] > group["members"][0]["breakdown"]["waiting_time"]


@pytest.mark.parametrize("change, rule", [
    ({"languages": [{"code": "en", "level": "A2"}]}, "language_level"),
    ({"modes": ["hybrid"]}, "mode"),
    ({"availability": ["sun_morning"]}, "common_slot"),
    ({"target_occupation": "2221"}, "sector_rule"),
])
def test_group_problems_name_the_broken_rule_of_a_member(change, rule):
    problems = rules.group_problems(SETTINGS, mentor(), [mentee(), mentee(id="e2", **change)])
    assert [p["rule"] for p in problems] == [rule]
    assert problems[0]["mentee_id"] == "e2"


def test_another_region_is_fine_only_virtually():
    away = mentee(id="e2", region="CA-QC")
    assert rules.group_problems(SETTINGS, mentor(), [mentee(), away]) == []  # both accept virtual
    problems = rules.group_problems(SETTINGS, mentor(modes=["in_person"]), [mentee(), away])
    assert [p["rule"] for p in problems] == ["region"]


def test_group_problems_of_the_mentor_and_the_size():
    tight = {**SETTINGS, "group_size_min": 3}
    problems = rules.group_problems(tight, mentor(eligible=False, visible=False, places=0), [mentee()])
    assert {p["rule"] for p in problems} == {"eligibility", "visibility", "capacity", "group_size"}


def test_no_common_language_for_the_whole_group_is_a_problem_even_if_each_pair_shares_one():
    bilingual = mentor(languages=[{"code": "en", "level": "native"}, {"code": "fr", "level": "C2"}])
    problems = rules.group_problems(SETTINGS, bilingual, [mentee(), mentee(id="e2", languages=[{"code": "fr", "level": "B2"}])])
    assert [p["rule"] for p in problems] == ["language_level"]
    assert "mentee_id" not in problems[0]


def _random_person(rng, kind, index):
    occupations = ["2221", "2222", "2211", "2142", "2144", "2611", "2330", "2512", "2513", "2411", "7411"]
    languages = [{"code": code, "level": rng.choice(codes.LANGUAGE_LEVELS)} for code in rng.sample(["en", "fr", "ar", "es"], rng.randint(0, 3))]
    common = {"id": f"{kind}{index}", "languages": languages, "region": rng.choice(["CA-ON", "CA-QC", "CA-BC"]),
              "modes": rng.sample(codes.MODES, rng.randint(1, 3)),
              "availability": rng.sample(["mon_evening", "tue_evening", "sat_morning", "sun_afternoon"], rng.randint(1, 3)),
              "years_experience": rng.randint(0, 20)}
    if kind == "e":
        return {**common, "target_occupation": rng.choice(occupations), "goals": rng.sample(codes.GOALS, rng.randint(0, 3)),
                "preferences": rng.choice([{}, {"mentor_gender": "woman"}, {"mentor_age_band": "40-49"}]),
                "needs_communication_support": rng.random() < 0.3, "waiting_days": rng.randint(0, 300)}
    return {**common, "occupations": rng.sample(occupations, rng.randint(1, 3)), "places": rng.randint(1, 2),
            "supports_communication_needs": rng.random() < 0.5, "gender": rng.choice(codes.GENDERS),
            "age_band": rng.choice(codes.AGE_BANDS)}


def test_vectorised_rules_and_the_scalar_checks_agree_on_random_pairs():
    rng = random.Random(7)
    mentees = [_random_person(rng, "e", k) for k in range(60)]
    mentors = [_random_person(rng, "t", k) for k in range(30)]
    cohort = rules.Cohort(SETTINGS, mentees, mentors)
    i, m = np.arange(60)[:, None], np.arange(30)[None, :]
    feasible = stage_masks(cohort, i, m)[-1]
    scores = rules.pair_scores(cohort, *np.broadcast_arrays(i, m))
    assert 0 < feasible.sum() < feasible.size
    for a in range(60):
        for b in rng.sample(range(30), 6):
            problems = rules.group_problems(SETTINGS, mentors[b], [mentees[a]])
            assert (problems == []) == bool(feasible[a, b]), (a, b, problems)
            if feasible[a, b]:
                explained = rules.explain_group(SETTINGS, mentors[b], [mentees[a]])
                assert explained["score"] == pytest.approx(scores[a, b], abs=1e-3)
