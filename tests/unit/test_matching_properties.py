"""Properties of the matching engine on random instances (issue 8, done when 1): whatever the
instance, no group breaks a hard constraint (eligibility, visibility, capacity, language and
level, mode, common slot, region, sector rule, group size), every mentee is placed at most once,
every placed mentee has an explanation and every unplaced one a reason, and the same instance and
seed give the same answer. Then a few small cases where one protection alone decides the answer.

The checks below read the instance directly: they are the specification, written plainly, and
deliberately do not call the engine's own rule checks (`matching.rules`)."""
import copy
import importlib.util
import pathlib
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition_common import codes
from matching import engine

# The bench's seeded coalition generator, loaded by path (bench/ is not a package, and its
# matching.py would hide the service package if bench/ were put on the path).
_spec = importlib.util.spec_from_file_location("coalitions", pathlib.Path(__file__).resolve().parents[2] / "bench" / "coalitions.py")
coalitions = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(coalitions)

# The plan's reason codes and the regulated groups, written out here on purpose: they are
# what the engine is checked against.
REASONS = ("no_mentor_for_sector_rule", "no_mentor_with_language_level", "no_mentor_in_region_or_mode",
           "no_mentor_with_common_slot", "compatible_mentors_full", "too_few_compatible_mentees")
# Regulated occupations need a mentor in the same ISCO-08 minor group (first three digits).
REGULATED_PREFIXES = ("22", "32", "23", "261", "214", "311")
METHODS = ("engine", "greedy")
# The engine's work is bounded by counts; its time limit is a safety net that would make the
# answer depend on the machine's load, so it is set well above what these small instances need.
TIME_LIMIT = 60

# A small world, so random instances do form groups: 2221/2222 and 2142/2144 share a minor
# group, 2211 is health but another minor group, 2512/2513 are unregulated neighbours.
OCCUPATIONS = ["2221", "2222", "2211", "2142", "2144", "3112", "2611", "2330", "2512", "2513", "2411"]
LANGUAGES = ["en", "fr", "ar"]
REGIONS = ["CA-ON", "CA-QC"]
SLOTS = ["mon_evening", "tue_evening", "sat_morning", "sun_afternoon"]


# --- the specification, read from the instance -------------------------------------------------

def speaks(person, language, minimum):
    return any(skill["code"] == language and codes.level_rank(skill["level"]) >= codes.level_rank(minimum)
               for skill in person.get("languages", []))


def hard_rule_breaches(instance, result):
    """Every broken hard constraint in `result`, as readable strings (empty when none)."""
    setup = instance.get("settings", {})
    size_min, size_max = setup.get("group_size_min", 3), setup.get("group_size_max", 5)
    minimum = setup.get("min_language_level", "B1")
    mentees = {mentee["id"]: mentee for mentee in instance["mentees"]}
    mentors = {mentor["id"]: mentor for mentor in instance["mentors"]}
    breaches, seen, groups_of = [], {}, {}

    for number, group in enumerate(result["groups"]):
        where = f"group {number} (mentor {group.get('mentor_id')})"
        mentor = mentors.get(group["mentor_id"])
        if mentor is None:
            breaches.append(f"{where}: unknown mentor")
            continue
        groups_of[mentor["id"]] = groups_of.get(mentor["id"], 0) + 1
        if not mentor.get("eligible", True):
            breaches.append(f"{where}: eligibility: the mentor is not eligible")
        if not mentor.get("visible", True):
            breaches.append(f"{where}: visibility: the mentor is not visible to this programme")
        members = []
        for mentee_id in group["mentee_ids"]:
            if mentee_id not in mentees:
                breaches.append(f"{where}: unknown mentee {mentee_id}")
                continue
            if mentee_id in seen:
                breaches.append(f"{where}: mentee {mentee_id} is placed twice")
            seen[mentee_id] = number
            members.append(mentees[mentee_id])
        if not size_min <= len(group["mentee_ids"]) <= size_max:
            breaches.append(f"{where}: group_size: {len(group['mentee_ids'])} mentees")
        common = group.get("common", {})
        language, slot, mode = common.get("language"), common.get("slot"), common.get("mode")
        for person, who in [(mentor, "the mentor")] + [(m, f"mentee {m['id']}") for m in members]:
            if not speaks(person, language, minimum):
                breaches.append(f"{where}: language_level: {who} lacks {language} at {minimum} or above")
            if slot not in person.get("availability", []):
                breaches.append(f"{where}: common_slot: {who} is not free on {slot}")
            if mode not in person.get("modes", []):
                breaches.append(f"{where}: mode: {who} does not meet {mode}")
            if mode != "virtual" and person.get("region") != mentor.get("region"):
                breaches.append(f"{where}: region: {who} is in {person.get('region')}, the mentor in "
                                f"{mentor.get('region')}, and the group meets {mode}")
        if mode != "virtual" and common.get("region") not in (None, mentor.get("region")):
            breaches.append(f"{where}: region: common region {common.get('region')} is not the mentor's")
        mentor_minor_groups = {occupation[:3] for occupation in mentor.get("occupations", [])}
        for member in members:
            target = member["target_occupation"]
            if target.startswith(REGULATED_PREFIXES) and target[:3] not in mentor_minor_groups:
                breaches.append(f"{where}: sector_rule: mentee {member['id']} targets regulated {target}, "
                                f"the mentor's occupations are {mentor.get('occupations')}")

    for mentor_id, count in groups_of.items():
        if count > mentors[mentor_id].get("places", 0):
            breaches.append(f"capacity: mentor {mentor_id} leads {count} groups, has {mentors[mentor_id].get('places')} places")
    for item in result["unplaced"]:
        if item["mentee_id"] in seen:
            breaches.append(f"mentee {item['mentee_id']} is both placed and unplaced")
    return breaches


def explanation_problems(instance, result):
    """A placed mentee without an explanation, an unplaced one without a reason, or a mentee the
    result forgets."""
    problems = []
    for group in result["groups"]:
        explained = {member.get("mentee_id"): member for member in group.get("members", [])}
        for mentee_id in group["mentee_ids"]:
            member = explained.get(mentee_id)
            if member is None:
                problems.append(f"placed mentee {mentee_id} has no members[] entry")
            elif not isinstance(member.get("breakdown"), dict) or not member["breakdown"]:
                problems.append(f"placed mentee {mentee_id} has no score breakdown")
            elif "score" not in member:
                problems.append(f"placed mentee {mentee_id} has no score")
        if set(explained) - set(group["mentee_ids"]):
            problems.append(f"members[] names mentees not in the group: {set(explained) - set(group['mentee_ids'])}")
    unplaced = {}
    for item in result["unplaced"]:
        if item.get("reason") not in REASONS:
            problems.append(f"unplaced mentee {item.get('mentee_id')} has reason {item.get('reason')!r}")
        if not item.get("detail"):
            problems.append(f"unplaced mentee {item.get('mentee_id')} has no detail")
        if item["mentee_id"] in unplaced:
            problems.append(f"mentee {item['mentee_id']} is unplaced twice")
        unplaced[item["mentee_id"]] = item
    placed = {mentee_id for group in result["groups"] for mentee_id in group["mentee_ids"]}
    forgotten = {mentee["id"] for mentee in instance["mentees"]} - placed - set(unplaced)
    if forgotten:
        problems.append(f"mentees neither placed nor unplaced: {sorted(forgotten)}")
    return problems


def summary_problems(instance, result):
    summary = result["summary"]
    problems = []
    placed = sum(len(group["mentee_ids"]) for group in result["groups"])
    share = placed / len(instance["mentees"]) if instance["mentees"] else 0
    if abs(summary["placed_share"] - share) > 1e-6:
        problems.append(f"placed_share {summary['placed_share']} but {placed} of {len(instance['mentees'])} placed")
    if summary["objective"] > summary["bound"] + 1e-6 * max(1.0, abs(summary["bound"])):
        problems.append(f"objective {summary['objective']} above the bound {summary['bound']}")
    return problems


def solve(instance, method="engine"):
    """The engine on a private copy (so a mutating engine cannot fake the checks)."""
    instance = copy.deepcopy(instance)
    instance.setdefault("settings", {})["method"] = method
    return engine.solve(instance)


def comparable(result):
    """The result without its timing."""
    result = copy.deepcopy(result)
    result["summary"].pop("wall_seconds", None)
    return result


def assert_sound(instance, result):
    problems = hard_rule_breaches(instance, result) + explanation_problems(instance, result) + summary_problems(instance, result)
    assert not problems, "\n".join(problems)


# --- random instances --------------------------------------------------------------------------

def subset(items, min_size=1, max_size=None):
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=max_size or len(items), unique=True)


@st.composite
def skills(draw):
    languages = draw(subset(LANGUAGES, 1, 2))
    return [{"code": code, "level": draw(st.sampled_from(codes.LANGUAGE_LEVELS[1:]))} for code in languages]


@st.composite
def mentee_records(draw, number):
    record = {
        "id": f"e{number:03d}",
        "target_occupation": draw(st.sampled_from(OCCUPATIONS)),
        "occupation": draw(st.sampled_from(OCCUPATIONS + ["8322"])),
        "years_experience": draw(st.integers(0, 30)),
        "languages": draw(skills()),
        "region": draw(st.sampled_from(REGIONS)),
        "modes": draw(subset(list(codes.MODES))),
        "availability": draw(subset(SLOTS, 1, 3)),
        "goals": draw(subset(list(codes.GOALS), 0, 3)),
        "needs_communication_support": draw(st.booleans()),
        "waiting_days": draw(st.integers(0, 400)),
    }
    preferences = {}
    if draw(st.booleans()):
        preferences["mentor_gender"] = draw(st.sampled_from(codes.GENDERS))
    if draw(st.integers(0, 3)) == 0:
        preferences["mentor_age_band"] = draw(st.sampled_from(codes.AGE_BANDS))
    record["preferences"] = preferences
    return record


@st.composite
def mentor_records(draw, number):
    record = {
        "id": f"m{number:03d}",
        "partner_id": draw(st.sampled_from(["p1", "p2", "p3"])),
        "occupations": draw(subset(OCCUPATIONS, 1, 3)),
        "languages": draw(skills()),
        "region": draw(st.sampled_from(REGIONS)),
        "modes": draw(subset(list(codes.MODES))),
        "availability": draw(subset(SLOTS, 1, 4)),
        "years_experience": draw(st.integers(1, 40)),
        "places": draw(st.integers(0, 3)),
        "supports_communication_needs": draw(st.booleans()),
    }
    # Absent means the default (true); present, either way.
    for flag, false_weight in (("eligible", 1), ("visible", 1)):
        choice = draw(st.integers(0, 5))
        if choice <= false_weight - 1:
            record[flag] = False
        elif choice <= 2:
            record[flag] = True
    if draw(st.booleans()):
        record["gender"] = draw(st.sampled_from(codes.GENDERS))
    if draw(st.booleans()):
        record["age_band"] = draw(st.sampled_from(codes.AGE_BANDS))
    return record


@st.composite
def instances(draw):
    mentee_count = draw(st.integers(5, 40))
    mentor_count = draw(st.integers(2, 12))
    size_min = draw(st.integers(2, 3))
    return {
        "settings": {"group_size_min": size_min, "group_size_max": draw(st.integers(size_min, 5)),
                     "min_language_level": draw(st.sampled_from(["A2", "B1", "B1", "B2"])),
                     "rule_set": "auto", "weights": {}, "seed": draw(st.integers(0, 3)), "time_limit_seconds": TIME_LIMIT},
        "mentees": [draw(mentee_records(n)) for n in range(1, mentee_count + 1)],
        "mentors": [draw(mentor_records(n)) for n in range(1, mentor_count + 1)],
    }


PROPERTY_SETTINGS = settings(max_examples=35, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.parametrize("method", METHODS)
@PROPERTY_SETTINGS
@given(instance=instances())
def test_no_hard_constraint_is_broken_and_everyone_is_accounted_for(method, instance):
    assert_sound(instance, solve(instance, method))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", range(6))
def test_generated_coalitions_are_matched_soundly(method, seed):
    """The bench's skewed coalitions, small: real ISCO groups, home languages, private partners."""
    rng = random.Random(seed)
    instance = coalitions.generate(rng.randint(20, 40), rng.randint(6, 12), seed=seed, partners=3)
    instance["settings"]["time_limit_seconds"] = TIME_LIMIT
    assert_sound(instance, solve(instance, method))


def test_random_instances_do_form_groups():
    """The properties above would hold vacuously for an engine that places nobody."""
    placed = []
    for seed in range(6):
        instance = coalitions.generate(40, 12, seed=seed, partners=2)
        for mentor in instance["mentors"]:
            mentor["visible"] = True
        instance["settings"]["time_limit_seconds"] = TIME_LIMIT
        placed.append(sum(len(group["mentee_ids"]) for group in solve(instance)["groups"]))
    assert sum(1 for count in placed if count) >= 3, placed


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(instance=instances())
def test_same_instance_and_seed_give_the_same_answer(method, instance):
    assert comparable(solve(instance, method)) == comparable(solve(instance, method))


def test_same_coalition_and_seed_give_the_same_answer():
    instance = coalitions.generate(40, 12, seed=5, partners=2)
    instance["settings"]["time_limit_seconds"] = TIME_LIMIT
    first = comparable(solve(instance))
    assert first["groups"], "the instance should form groups"
    assert comparable(solve(instance)) == first


# --- one protection decides ----------------------------------------------------------------------

def mentee(number, **fields):
    record = {"id": f"e{number:02d}", "target_occupation": "2512", "occupation": "2512", "years_experience": 5,
              "languages": [{"code": "en", "level": "B2"}], "region": "CA-ON", "modes": ["in_person"],
              "availability": ["tue_evening"], "goals": ["job_search"], "preferences": {},
              "needs_communication_support": False, "waiting_days": 30}
    record.update(fields)
    return record


def mentor(number, **fields):
    record = {"id": f"m{number:02d}", "partner_id": "p1", "occupations": ["2512"],
              "languages": [{"code": "en", "level": "native"}], "region": "CA-ON", "modes": ["in_person"],
              "availability": ["tue_evening"], "years_experience": 15, "places": 1,
              "supports_communication_needs": False}
    record.update(fields)
    return record


def case(mentees, mentors, **setup):
    return {"settings": {"group_size_min": 3, "group_size_max": 5, "min_language_level": "B1", "rule_set": "auto",
                         "weights": {}, "seed": 0, "time_limit_seconds": TIME_LIMIT, **setup},
            "mentees": mentees, "mentors": mentors}


def placed_ids(result):
    return sorted(mentee_id for group in result["groups"] for mentee_id in group["mentee_ids"])


def reasons(result):
    return {item["mentee_id"]: item["reason"] for item in result["unplaced"]}


ARABIC_ONLY = [{"code": "ar", "level": "native"}]


@pytest.mark.parametrize("method", METHODS)
def test_a_compatible_cohort_forms_a_group(method):
    """The baseline the cases below change one thing of."""
    instance = case([mentee(n) for n in range(1, 5)], [mentor(1)])
    result = solve(instance, method)
    assert_sound(instance, result)
    assert placed_ids(result) == ["e01", "e02", "e03", "e04"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("flag", ["visible", "eligible"])
def test_the_only_mentor_of_the_right_language_is_hidden_or_ineligible(method, flag):
    mentees = [mentee(n, languages=ARABIC_ONLY) for n in range(1, 5)]
    mentors = [mentor(1, languages=[{"code": "ar", "level": "native"}], **{flag: False}),
               mentor(2, places=3)]  # English only
    result = solve(case(mentees, mentors), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"no_mentor_with_language_level"}
    # The same mentor, visible and eligible, takes them.
    mentors[0][flag] = True
    assert placed_ids(solve(case(mentees, mentors), method)) == ["e01", "e02", "e03", "e04"]


@pytest.mark.parametrize("method", METHODS)
def test_a_language_level_below_the_minimum_is_not_enough(method):
    mentees = [mentee(n) for n in range(1, 5)] + [mentee(5, languages=[{"code": "en", "level": "A2"}, *ARABIC_ONLY])]
    result = solve(case(mentees, [mentor(1)]), method)
    assert "e05" not in placed_ids(result)
    assert reasons(result)["e05"] == "no_mentor_with_language_level"
    # A mentor speaking the language only at A2 cannot lead a B1 group either.
    weak = [mentor(1, languages=[{"code": "en", "level": "A2"}, {"code": "ar", "level": "native"}])]
    assert placed_ids(solve(case([mentee(n) for n in range(1, 5)], weak), method)) == []
    # With A2 allowed, the same people meet.
    assert "e05" in placed_ids(solve(case(mentees, [mentor(1)], min_language_level="A2"), method))


@pytest.mark.parametrize("method", METHODS)
def test_regulated_occupations_need_a_mentor_of_the_same_minor_group(method):
    nurses = [mentee(n, target_occupation="2221", occupation="5321") for n in range(1, 5)]
    doctor = mentor(1, occupations=["2211"])  # health, but minor group 221, not 222
    result = solve(case(nurses, [doctor]), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"no_mentor_for_sector_rule"}
    midwife = mentor(1, occupations=["2222"])  # minor group 222
    assert placed_ids(solve(case(nurses, [midwife]), method)) == ["e01", "e02", "e03", "e04"]
    # Engineering technicians (311) and lawyers (261) too.
    technicians = [mentee(n, target_occupation="3112") for n in range(1, 5)]
    assert placed_ids(solve(case(technicians, [mentor(1, occupations=["3121", "2142"])]), method)) == []
    assert placed_ids(solve(case(technicians, [mentor(1, occupations=["3115"])]), method)) == ["e01", "e02", "e03", "e04"]
    lawyers = [mentee(n, target_occupation="2611") for n in range(1, 5)]
    assert placed_ids(solve(case(lawyers, [mentor(1, occupations=["2621"])]), method)) == []


@pytest.mark.parametrize("method", METHODS)
def test_an_unregulated_occupation_takes_a_mentor_of_another_field(method):
    result = solve(case([mentee(n, target_occupation="2411") for n in range(1, 5)], [mentor(1, occupations=["2512"])]), method)
    assert placed_ids(result) == ["e01", "e02", "e03", "e04"]


@pytest.mark.parametrize("method", METHODS)
def test_in_person_groups_stay_in_one_region(method):
    mentees = [mentee(n, region="CA-QC") for n in range(1, 5)]
    result = solve(case(mentees, [mentor(1, modes=["in_person", "hybrid"])]), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"no_mentor_in_region_or_mode"}
    hybrid = [mentee(n, region="CA-QC", modes=["hybrid"]) for n in range(1, 5)]
    assert placed_ids(solve(case(hybrid, [mentor(1, modes=["hybrid"])]), method)) == []
    # Virtual groups cross regions.
    virtual = [mentee(n, region="CA-QC" if n % 2 else "CA-BC", modes=["virtual"]) for n in range(1, 5)]
    assert placed_ids(solve(case(virtual, [mentor(1, modes=["virtual"])]), method)) == ["e01", "e02", "e03", "e04"]


@pytest.mark.parametrize("method", METHODS)
def test_a_mode_nobody_shares_places_nobody(method):
    mentees = [mentee(n, modes=["virtual"]) for n in range(1, 5)]
    result = solve(case(mentees, [mentor(1, modes=["in_person"])]), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"no_mentor_in_region_or_mode"}


@pytest.mark.parametrize("method", METHODS)
def test_a_group_needs_one_slot_everyone_has(method):
    # Each mentee shares a slot with the mentor, but no slot is common to three of them.
    slots = [["mon_evening"], ["mon_evening"], ["tue_evening"], ["tue_evening"]]
    mentees = [mentee(n, availability=slot) for n, slot in enumerate(slots, start=1)]
    result = solve(case(mentees, [mentor(1, availability=["mon_evening", "tue_evening"])]), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"too_few_compatible_mentees"}
    # A mentee free when the mentor never is has the slot as the binding reason.
    result = solve(case([mentee(n) for n in range(1, 4)] + [mentee(4, availability=["sun_morning"])], [mentor(1)]), method)
    assert placed_ids(result) == ["e01", "e02", "e03"]
    assert reasons(result) == {"e04": "no_mentor_with_common_slot"}


@pytest.mark.parametrize("method", METHODS)
def test_a_full_mentor_takes_no_more_groups(method):
    mentees = [mentee(n) for n in range(1, 11)]
    result = solve(case(mentees, [mentor(1, places=1)]), method)
    assert len(result["groups"]) == 1 and 3 <= len(placed_ids(result)) <= 5
    assert set(reasons(result).values()) == {"compatible_mentors_full"}
    assert solve(case(mentees, [mentor(1, places=0)]), method)["groups"] == []
    assert len(solve(case(mentees, [mentor(1, places=2)]), method)["groups"]) == 2


@pytest.mark.parametrize("method", METHODS)
def test_group_size_bounds_hold(method):
    result = solve(case([mentee(n) for n in range(1, 3)], [mentor(1, places=3)]), method)
    assert placed_ids(result) == []
    assert set(reasons(result).values()) == {"too_few_compatible_mentees"}
    result = solve(case([mentee(n) for n in range(1, 8)], [mentor(1, places=3)], group_size_max=3), method)
    assert [len(group["mentee_ids"]) for group in result["groups"]] == [3, 3]
    assert len(result["unplaced"]) == 1
