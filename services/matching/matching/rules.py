"""The matching rules, defined once: which mentor may take which mentee (the hard constraints) and
how well they fit (the weighted criteria of a sector rule set, shipped as data in rule_sets.json).

Every rule is written over numpy index arrays (`i` into the mentees, `m` into the mentors, any
broadcastable shapes), so the engine evaluates it on millions of pairs at once and the review's
scalar checks (`group_problems`, `explain_group`) run the very same code on a handful of pairs.

A group meets in one archetype: a language, a weekly slot and a mode. For a pair (mentee, mentor)
the archetypes both accept are the product of three bit masks (`pair_masks`): the shared
languages at or above the minimum level, the shared slots, and the shared modes (only `virtual`
when they live in different regions). A group is feasible when one bit of each survives the AND
over its members.
"""
import copy
import functools
import json
import numbers
from importlib import resources

import numpy as np
from marshmallow import ValidationError

from coalition_common import codes

# Per-member criteria, in the order of a breakdown; `load` is the mentor-level penalty.
CRITERIA = ("placement", "occupation", "goals", "language", "preferences", "communication_support", "waiting_time")
LOAD = "load"
WEIGHT_NAMES = CRITERIA + (LOAD,)
DEFAULT_SETTINGS = {"group_size_min": 3, "group_size_max": 5, "min_language_level": "B1", "rule_set": "auto",
                    "weights": {}, "seed": 0, "time_limit_seconds": 20, "method": "engine"}
METHODS = ("engine", "greedy")
# The hard filters that can leave a mentee without any mentor, in the order a reason is given.
STAGES = ("sector_rule", "language_level", "region_or_mode", "common_slot")
REASONS = ("no_mentor_for_sector_rule", "no_mentor_with_language_level", "no_mentor_in_region_or_mode",
           "no_mentor_with_common_slot", "compatible_mentors_full", "too_few_compatible_mentees")
VIRTUAL = codes.MODES.index("virtual")
# Which mode a group meets in when several are open to all: meeting in person is the default
# of group mentoring (DOMAIN.md), virtual the fallback.
MODE_PREFERENCE = tuple(codes.MODES.index(mode) for mode in ("in_person", "hybrid", "virtual"))
NO_PREFIX = -1  # a prefix a code is too short to have; mentee and mentor pads differ so they never match


@functools.cache
def _document():
    return json.loads(resources.files("matching").joinpath("rule_sets.json").read_text())


def rule_sets():
    """The shipped rule sets document (a copy): rule sets with their hard rules and weight bounds,
    and the data the criteria score with (occupation closeness, goals, waiting time)."""
    return copy.deepcopy(_document())


RULE_SET_NAMES = tuple(_document()["rule_sets"])


def settings_with_defaults(settings):
    merged = {**DEFAULT_SETTINGS, **(settings or {})}
    merged["weights"] = dict(merged.get("weights") or {})
    return merged


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_settings(settings):
    """Raise ValidationError naming the field when a setting the engine relies on is wrong: an
    unknown rule set, an unknown weight or one outside its rule set's bounds (with `auto`, within
    the bounds of every rule set), a bad group size, level or method."""
    settings = settings or {}
    sets = _document()["rule_sets"]
    errors = {}
    name = settings.get("rule_set", "auto")
    if name != "auto" and name not in sets:
        errors["rule_set"] = [f"Unknown rule set; one of: auto, {', '.join(sets)}."]
    weights = settings.get("weights") or {}
    if not isinstance(weights, dict):
        errors["weights"] = ["Must be a mapping of weight name to number."]
    else:
        applied = [sets[name]] if name in sets else list(sets.values())
        problems = {}
        for key, value in weights.items():
            if key not in WEIGHT_NAMES:
                problems[key] = [f"Unknown weight; one of: {', '.join(WEIGHT_NAMES)}."]
            elif not _number(value):
                problems[key] = ["Not a number."]
            else:
                low = max(spec["weights"][key]["min"] for spec in applied)
                high = min(spec["weights"][key]["max"] for spec in applied)
                if not low <= value <= high:
                    problems[key] = [f"Must be between {low:g} and {high:g}."]
        if problems:
            errors["weights"] = problems
    low, high = settings.get("group_size_min", 3), settings.get("group_size_max", 5)
    if not (isinstance(low, int) and not isinstance(low, bool) and low >= 1):
        errors["group_size_min"] = ["Must be a whole number of at least 1."]
    elif not (isinstance(high, int) and not isinstance(high, bool) and high >= low):
        errors["group_size_max"] = ["Must be a whole number no smaller than group_size_min."]
    if settings.get("min_language_level", "B1") not in codes.LANGUAGE_LEVELS:
        errors["min_language_level"] = [f"One of: {', '.join(codes.LANGUAGE_LEVELS)}."]
    if settings.get("method", "engine") not in METHODS:
        errors["method"] = [f"One of: {', '.join(METHODS)}."]
    if errors:
        raise ValidationError(errors)


def weights_of(settings, rule_set):
    """The weights a rule set scores with under these settings: its defaults, overridden."""
    spec = _document()["rule_sets"][rule_set]["weights"]
    overrides = settings.get("weights") or {}
    return {name: float(overrides.get(name, spec[name]["default"])) for name in WEIGHT_NAMES}


def rule_set_for(settings, target_occupation):
    """The rule set of a mentee: forced by the settings, else the longest matching ISCO prefix."""
    name = settings.get("rule_set", "auto")
    if name != "auto":
        return name
    best, length = "default", 0
    code = target_occupation or ""
    for candidate, spec in _document()["rule_sets"].items():
        for prefix in spec["isco_prefixes"]:
            if code.startswith(prefix) and len(prefix) > length:
                best, length = candidate, len(prefix)
    return best


def load_weight(settings):
    """The load penalty belongs to a mentor, not a mentee: the forced rule set's, else default's."""
    name = settings.get("rule_set", "auto")
    return weights_of(settings, "default" if name == "auto" else name)[LOAD]


def load_penalty(weight, groups):
    """Penalty for a mentor carrying `groups` groups: the k-th costs weight x (k - 1)."""
    groups = np.asarray(groups, dtype=np.float64)
    return weight * groups * (groups - 1) / 2


def _prefixes(code):
    code = code or ""
    return [int(code[:k]) if len(code) >= k and code[:k].isdigit() else NO_PREFIX for k in range(1, 5)]


def _slot_mask(slots):
    return codes.slot_mask(slot for slot in (slots or ()) if slot in codes.SLOTS)


def _mode_mask(modes):
    mask = 0
    for mode in modes or ():
        if mode in codes.MODES:
            mask |= 1 << codes.MODES.index(mode)
    return mask


def _bits(values, known):
    return [known.index(value) if value in known else -1 for value in values]


class Cohort:
    """The mentees and mentors of one instance as arrays (instance format; missing optional keys
    take their defaults). Languages are indexed per cohort; a person's language mask holds the
    languages they speak at or above the programme's minimum level, in 64-bit words."""

    def __init__(self, settings, mentees, mentors):
        self.settings = settings = settings_with_defaults(settings)
        self.min_rank = codes.level_rank(settings["min_language_level"])
        self.size_min, self.size_max = int(settings["group_size_min"]), int(settings["group_size_max"])
        self.load_weight = load_weight(settings)
        self.mentee_ids = [str(mentee["id"]) for mentee in mentees]
        self.mentor_ids = [str(mentor["id"]) for mentor in mentors]
        document = _document()
        self.closeness_values = np.array([document["occupation_closeness"][str(k)] for k in range(5)])
        self.waiting_full = float(document["waiting_time"]["full_after_days"])
        self.goal_rules = [document["goals"][goal] for goal in codes.GOALS]

        languages = sorted({skill["code"] for person in (*mentees, *mentors) for skill in person.get("languages") or ()})
        self.languages = languages
        position = {code: n for n, code in enumerate(languages)}
        self.words = max(1, (len(languages) + 63) // 64)
        regions = sorted({person.get("region") or "" for person in (*mentees, *mentors)})
        self.regions = regions
        region_index = {region: n for n, region in enumerate(regions)}

        def language_arrays(people):
            mask = np.zeros((len(people), self.words), dtype=np.uint64)
            spoken = [[(codes.level_rank(skill["level"]), position[skill["code"]])
                       for skill in person.get("languages") or () if skill.get("level") in codes.LANGUAGE_LEVELS]
                      for person in people]
            width = max([len(skills) for skills in spoken] + [1])
            order = np.full((len(people), width), -1, dtype=np.int32)
            ranks = np.full((len(people), width), -1, dtype=np.int8)
            for n, skills in enumerate(spoken):
                # Best level first (then code order), so the first shared one is the best shared.
                skills.sort(key=lambda skill: (-skill[0], skill[1]))
                for k, (rank, language) in enumerate(skills):
                    order[n, k], ranks[n, k] = language, rank
                    if rank >= self.min_rank:
                        mask[n, language // 64] |= np.uint64(1 << (language % 64))
            return mask, order, ranks

        # Mentees.
        n = len(mentees)
        self.rule_set = [rule_set_for(settings, mentee.get("target_occupation")) for mentee in mentees]
        rule_index = {name: k for k, name in enumerate(RULE_SET_NAMES)}
        self.mentee_rule = np.array([rule_index[name] for name in self.rule_set], dtype=np.int8).reshape(n)
        hard = np.array(["same_minor_group" in document["rule_sets"][name]["hard_rules"] for name in RULE_SET_NAMES])
        self.needs_same_minor = hard[self.mentee_rule] if n else np.zeros(0, dtype=bool)
        weights = np.array([[weights_of(settings, name)[criterion] for criterion in CRITERIA] for name in RULE_SET_NAMES])
        self.mentee_weights = weights[self.mentee_rule] if n else np.zeros((0, len(CRITERIA)))
        # Mentee pads are NO_PREFIX - 1 so a mentee's missing prefix never equals a mentor's.
        self.target_prefixes = np.array([[p if p != NO_PREFIX else NO_PREFIX - 1 for p in _prefixes(mentee.get("target_occupation"))]
                                         for mentee in mentees], dtype=np.int32).reshape(n, 4)
        self.mentee_region = np.array([region_index[mentee.get("region") or ""] for mentee in mentees], dtype=np.int32)
        self.mentee_modes = np.array([_mode_mask(mentee.get("modes")) for mentee in mentees], dtype=np.uint8)
        self.mentee_slots = np.array([_slot_mask(mentee.get("availability")) for mentee in mentees], dtype=np.uint32)
        self.mentee_languages, self.mentee_language_order, self.mentee_language_ranks = language_arrays(mentees)
        self.mentee_goals = np.array([[goal in (mentee.get("goals") or ()) for goal in codes.GOALS] for mentee in mentees],
                                     dtype=bool).reshape(n, len(codes.GOALS))
        preferences = [mentee.get("preferences") or {} for mentee in mentees]
        self.preferred_gender = np.array(_bits([p.get("mentor_gender") for p in preferences], codes.GENDERS), dtype=np.int8)
        self.preferred_age = np.array(_bits([p.get("mentor_age_band") for p in preferences], codes.AGE_BANDS), dtype=np.int8)
        self.needs_support = np.array([bool(mentee.get("needs_communication_support")) for mentee in mentees], dtype=bool)
        self.waiting_days = np.array([float(mentee.get("waiting_days") or 0) for mentee in mentees], dtype=np.float64)

        # Mentors.
        count = len(mentors)
        width = max([len(mentor.get("occupations") or ()) for mentor in mentors] + [1])
        self.occupation_prefixes = np.full((count, width, 4), NO_PREFIX, dtype=np.int32)
        for k, mentor in enumerate(mentors):
            for j, code in enumerate(mentor.get("occupations") or ()):
                self.occupation_prefixes[k, j] = _prefixes(code)
        self.mentor_region = np.array([region_index[mentor.get("region") or ""] for mentor in mentors], dtype=np.int32)
        self.mentor_modes = np.array([_mode_mask(mentor.get("modes")) for mentor in mentors], dtype=np.uint8)
        self.mentor_slots = np.array([_slot_mask(mentor.get("availability")) for mentor in mentors], dtype=np.uint32)
        self.mentor_languages, self.mentor_language_order, self.mentor_language_ranks = language_arrays(mentors)
        self.mentor_years = np.array([float(mentor.get("years_experience") or 0) for mentor in mentors], dtype=np.float64)
        self.places = np.array([max(0, int(mentor.get("places") or 0)) for mentor in mentors], dtype=np.int64)
        self.supports = np.array([bool(mentor.get("supports_communication_needs")) for mentor in mentors], dtype=bool)
        # Unknown gender or age band is -2 so it never equals a mentee's "no preference" (-1).
        self.mentor_gender = np.array([g if g >= 0 else -2 for g in _bits([m.get("gender") for m in mentors], codes.GENDERS)], dtype=np.int8)
        self.mentor_age = np.array([a if a >= 0 else -2 for a in _bits([m.get("age_band") for m in mentors], codes.AGE_BANDS)], dtype=np.int8)
        self.eligible = np.array([mentor.get("eligible", True) is not False for mentor in mentors], dtype=bool)
        self.visible = np.array([mentor.get("visible", True) is not False for mentor in mentors], dtype=bool)

    @property
    def mentees(self):
        return len(self.mentee_ids)

    @property
    def mentors(self):
        return len(self.mentor_ids)

    def language_bit(self, mask, language):
        """Whether `language` (an index array) is set in `mask` (words in the last axis)."""
        language = np.asarray(language)
        word = np.take_along_axis(mask, (language // 64)[..., None].astype(np.int64), axis=-1)[..., 0]
        return ((word >> (language % 64).astype(np.uint64)) & np.uint64(1)).astype(bool)


# ---- hard rules over pairs -------------------------------------------------------------------

def shares_minor_group(cohort, i, m):
    """The mentor has an occupation in the mentee's target ISCO-08 minor group (first 3 digits)."""
    target = cohort.target_prefixes[i, 2]
    # A loop over the mentor's few occupations: numpy reduces a tiny last axis slowly.
    shared = target == cohort.occupation_prefixes[m, 0, 2]
    for j in range(1, cohort.occupation_prefixes.shape[1]):
        shared = shared | (target == cohort.occupation_prefixes[m, j, 2])
    return shared


def sector_ok(cohort, i, m):
    """The mentee's rule set's hard rules (today only `same_minor_group`)."""
    return ~cohort.needs_same_minor[i] | shares_minor_group(cohort, i, m)


def shared_languages(cohort, i, m):
    """Languages both speak at or above the minimum level (words in the last axis)."""
    return cohort.mentee_languages[i] & cohort.mentor_languages[m]


def language_ok(cohort, i, m):
    ok = (cohort.mentee_languages[i, 0] & cohort.mentor_languages[m, 0]) != 0
    for word in range(1, cohort.words):
        ok = ok | ((cohort.mentee_languages[i, word] & cohort.mentor_languages[m, word]) != 0)
    return ok


def meeting_modes(cohort, i, m):
    """Modes a group of this pair may meet in: shared modes, only virtual across regions."""
    shared = cohort.mentee_modes[i] & cohort.mentor_modes[m]
    same_region = cohort.mentee_region[i] == cohort.mentor_region[m]
    return np.where(same_region, shared, shared & np.uint8(1 << VIRTUAL)).astype(np.uint8)


def place_ok(cohort, i, m):
    return meeting_modes(cohort, i, m) != 0


def shared_slots(cohort, i, m):
    return cohort.mentee_slots[i] & cohort.mentor_slots[m]


def slot_ok(cohort, i, m):
    return shared_slots(cohort, i, m) != 0


def mentor_open(cohort, m):
    """The mentor may take a group at all: eligible, visible, with a free place."""
    return cohort.eligible[m] & cohort.visible[m] & (cohort.places[m] > 0)


def pair_masks(cohort, i, m):
    """The archetype masks of pairs: (shared languages words, shared slots, meeting modes)."""
    return shared_languages(cohort, i, m), shared_slots(cohort, i, m), meeting_modes(cohort, i, m)


# ---- criteria over pairs ----------------------------------------------------------------------

def occupation_level(cohort, i, m):
    """ISCO-08 digits the target occupation shares with the mentor's nearest occupation (0-4)."""
    target = cohort.target_prefixes[i]
    level = None
    for j in range(cohort.occupation_prefixes.shape[1]):
        # Prefixes are nested, so the count of equal ones is the shared length.
        shared = np.zeros(np.broadcast_shapes(np.shape(i), np.shape(m)), dtype=np.int8)
        for k in range(4):
            shared += target[..., k] == cohort.occupation_prefixes[m, j, k]
        level = shared if level is None else np.maximum(level, shared)
    return level


def best_shared_rank(cohort, i, m):
    """The mentee's level (rank) in the best language they share with the mentor at or above the
    minimum; -1 when none is shared."""
    best = np.full(np.broadcast_shapes(np.shape(i), np.shape(m)), -1, dtype=np.int8)
    best_language = np.full(best.shape, -1, dtype=np.int32)
    order, ranks = cohort.mentee_language_order[i], cohort.mentee_language_ranks[i]
    mentor_mask = cohort.mentor_languages[m]
    for k in range(order.shape[-1]):
        language, rank = order[..., k], ranks[..., k]
        spoken = (language >= 0) & (rank >= cohort.min_rank)
        has = spoken & cohort.language_bit(np.broadcast_to(mentor_mask, best.shape + (cohort.words,)),
                                           np.broadcast_to(np.maximum(language, 0), best.shape))
        take = has & (best < 0)
        best = np.where(take, rank, best)
        best_language = np.where(take, language, best_language)
    return best, best_language


def pair_details(cohort, i, m):
    """Every criterion of pairs as a value in 0..1, plus what the explanation names."""
    level = occupation_level(cohort, i, m)
    closeness = cohort.closeness_values[level]
    same_region = cohort.mentee_region[i] == cohort.mentor_region[m]
    goal_values = []
    wanted = cohort.mentee_goals[i]
    named = wanted.sum(-1)
    goals = np.zeros(level.shape)
    for g, rule in enumerate(cohort.goal_rules):
        value = np.ones(level.shape)
        if rule.get("closeness"):
            value = value * closeness
        if "occupation_level_at_least" in rule:
            value = value * (level >= rule["occupation_level_at_least"])
        if rule.get("same_region"):
            value = value * same_region
        if "mentor_years_experience_at_least" in rule:
            value = value * (cohort.mentor_years[m] >= rule["mentor_years_experience_at_least"])
        goal_values.append(value)
        goals += value * wanted[..., g]
    goals /= np.maximum(named, 1)
    rank, language = best_shared_rank(cohort, i, m)
    top = codes.level_rank("native")
    span = max(1, top - cohort.min_rank)
    language_value = np.where(rank >= 0, (rank.astype(np.float64) - cohort.min_rank) / span, 0.0)
    gender_asked, age_asked = cohort.preferred_gender[i] >= 0, cohort.preferred_age[i] >= 0
    gender_met = gender_asked & (cohort.preferred_gender[i] == cohort.mentor_gender[m])
    age_met = age_asked & (cohort.preferred_age[i] == cohort.mentor_age[m])
    asked = gender_asked.astype(np.int8) + age_asked
    preferences = np.where(asked > 0, (gender_met.astype(np.float64) + age_met) / np.maximum(asked, 1), 0.0)
    support = (cohort.needs_support[i] & cohort.supports[m]).astype(np.float64)
    waiting = np.broadcast_to(np.minimum(1.0, cohort.waiting_days[i] / cohort.waiting_full), level.shape)
    values = {
        "placement": np.ones(level.shape),
        "occupation": closeness,
        "goals": goals,
        "language": language_value,
        "preferences": preferences,
        "communication_support": support,
        "waiting_time": waiting,
    }
    return {"values": values, "level": level, "same_region": same_region, "goal_values": goal_values,
            "language": language, "rank": rank, "gender_met": gender_met, "age_met": age_met}


def points(cohort, i, values):
    """Weighted points of each criterion (the breakdown); their sum is the member's score."""
    weights = cohort.mentee_weights[i]
    return {name: weights[..., k] * values[name] for k, name in enumerate(CRITERIA)}


def pair_scores(cohort, i, m):
    """A mentee's score with a mentor: the sum of the weighted criteria."""
    breakdown = points(cohort, i, pair_details(cohort, i, m)["values"])
    return sum(breakdown[name] for name in CRITERIA)


# ---- groups: the scalar checks of the review --------------------------------------------------

def _iter_bits(value):
    position = 0
    while value:
        if value & 1:
            yield position
        value >>= 1
        position += 1


def _words_to_int(words):
    return sum(int(word) << (64 * k) for k, word in enumerate(words))


def common_choice(cohort, i, m, prefer=None):
    """The archetype a group meets in: (language index, slot index, mode index), each None when
    the members and mentor share none. Prefers `prefer` (a dict of codes) when it is open to all,
    else the language with the highest lowest member level, the earliest slot, in-person first."""
    languages, slots, modes = pair_masks(cohort, i, m)
    language_bits = _words_to_int(np.bitwise_and.reduce(languages, axis=0)) if len(i) else 0
    slot_bits = int(np.bitwise_and.reduce(slots)) if len(i) else 0
    mode_bits = int(np.bitwise_and.reduce(modes)) if len(i) else 0
    prefer = prefer or {}
    chosen_language = chosen_slot = chosen_mode = None
    options = list(_iter_bits(language_bits))
    if prefer.get("language") in cohort.languages and cohort.languages.index(prefer["language"]) in options:
        chosen_language = cohort.languages.index(prefer["language"])
    elif options:
        def lowest_level(language):
            ranks = np.where(cohort.mentee_language_order[i] == language, cohort.mentee_language_ranks[i], -1).max(-1)
            return int(ranks.min())
        chosen_language = max(options, key=lambda language: (lowest_level(language), -language))
    slot_options = list(_iter_bits(slot_bits))
    if prefer.get("slot") in codes.SLOTS and codes.SLOTS.index(prefer["slot"]) in slot_options:
        chosen_slot = codes.SLOTS.index(prefer["slot"])
    elif slot_options:
        chosen_slot = slot_options[0]
    if prefer.get("mode") in codes.MODES and mode_bits >> codes.MODES.index(prefer["mode"]) & 1:
        chosen_mode = codes.MODES.index(prefer["mode"])
    else:
        chosen_mode = next((mode for mode in MODE_PREFERENCE if mode_bits >> mode & 1), None)
    return chosen_language, chosen_slot, chosen_mode


def group_problems(settings, mentor, mentees):
    """The hard rules a proposed group breaks: [] or [{"rule", "detail", "mentee_id"?}], rule
    codes: eligibility, visibility, capacity, group_size, sector_rule, language_level, mode,
    region, common_slot (instance-format mentor and mentees)."""
    cohort = Cohort(settings, mentees, [mentor])
    problems = []
    name = mentor.get("id")
    if not cohort.eligible[0]:
        problems.append({"rule": "eligibility", "detail": f"Mentor {name} is not eligible now."})
    if not cohort.visible[0]:
        problems.append({"rule": "visibility", "detail": f"Mentor {name} is not visible to this programme."})
    if cohort.places[0] < 1:
        problems.append({"rule": "capacity", "detail": f"Mentor {name} has no free place."})
    count = len(mentees)
    if not cohort.size_min <= count <= cohort.size_max:
        problems.append({"rule": "group_size", "detail": f"The group has {count} mentees; it needs "
                         f"{cohort.size_min} to {cohort.size_max}."})
    if not count:
        return problems
    i, m = np.arange(count), np.zeros(count, dtype=np.int64)
    minimum = cohort.settings["min_language_level"]

    def each(rule, failing, sentence):
        for k in np.flatnonzero(failing):
            problems.append({"rule": rule, "mentee_id": cohort.mentee_ids[k], "detail": sentence(k)})

    each("sector_rule", ~sector_ok(cohort, i, m),
         lambda k: f"Mentee {cohort.mentee_ids[k]} ({cohort.rule_set[k]} rule set) needs a mentor in ISCO-08 minor "
                   f"group {mentees[k].get('target_occupation', '')[:3]}.")
    languages, slots, modes = pair_masks(cohort, i, m)
    pair_language = (languages != 0).any(-1)
    each("language_level", ~pair_language,
         lambda k: f"Mentee {cohort.mentee_ids[k]} shares no language with the mentor at {minimum} or above.")
    if pair_language.all() and not (np.bitwise_and.reduce(languages, axis=0) != 0).any():
        problems.append({"rule": "language_level", "detail": f"No single language is spoken at {minimum} or above "
                         "by every member and the mentor."})
    shared_modes = cohort.mentee_modes[i] & cohort.mentor_modes[m]
    each("mode", shared_modes == 0, lambda k: f"Mentee {cohort.mentee_ids[k]} shares no meeting mode with the mentor.")
    all_modes = int(np.bitwise_and.reduce(shared_modes))
    if (shared_modes != 0).all() and not all_modes:
        problems.append({"rule": "mode", "detail": "No meeting mode suits every member and the mentor."})
    if all_modes and not (all_modes >> VIRTUAL & 1):
        # Not meeting virtually, so everyone must live in the mentor's region.
        away = cohort.mentee_region[i] != cohort.mentor_region[m]
        each("region", away, lambda k: f"Mentee {cohort.mentee_ids[k]} lives in {mentees[k].get('region')}, not the "
                                       f"mentor's {mentor.get('region')}, and the group cannot meet virtually.")
    elif all_modes and not (int(np.bitwise_and.reduce(modes))):
        problems.append({"rule": "region", "detail": "The group's members live in different regions and cannot all meet virtually."})
    each("common_slot", slots == 0, lambda k: f"Mentee {cohort.mentee_ids[k]} shares no weekly slot with the mentor.")
    if (slots != 0).all() and not int(np.bitwise_and.reduce(slots)):
        problems.append({"rule": "common_slot", "detail": "No weekly slot suits every member and the mentor."})
    return problems


def _criteria_sentences(cohort, k, details, i_index, mentee_targets, mentor_occupations):
    """What matched for one member, in words (engine and review share this)."""
    sentences = []
    level = int(details["level"][k])
    target = mentee_targets[k] or ""
    if level >= 1:
        label = {4: "unit group", 3: "minor group", 2: "sub-major group", 1: "major group"}[level]
        sentences.append(f"same ISCO-08 {label} {target[:level]}")
    if cohort.needs_same_minor[i_index[k]]:
        sentences.append(f"{cohort.rule_set[i_index[k]]} rule set: mentor in minor group {target[:3]}")
    supported = [goal for g, goal in enumerate(codes.GOALS)
                 if cohort.mentee_goals[i_index[k], g] and details["goal_values"][g][k] > 0]
    if supported:
        sentences.append("goals supported: " + ", ".join(supported))
    rank = int(details["rank"][k])
    if rank >= 0:
        sentences.append(f"speaks {cohort.languages[int(details['language'][k])]} at {codes.LANGUAGE_LEVELS[rank]} "
                         f"(minimum {cohort.settings['min_language_level']})")
    if details["gender_met"][k]:
        sentences.append("preferred mentor gender")
    if details["age_met"][k]:
        sentences.append("preferred mentor age band")
    if details["values"]["communication_support"][k] > 0:
        sentences.append("mentor offers communication support")
    waited = cohort.waiting_days[i_index[k]]
    if waited > 0:
        sentences.append(f"waiting {waited:g} days")
    return sentences


def explain_members(cohort, i, m, mentee_targets):
    """Explanation items of members i with mentors m (index arrays of one length)."""
    details = pair_details(cohort, i, m)
    breakdown = points(cohort, i, details["values"])
    members = []
    for k in range(len(i)):
        parts = {name: round(float(breakdown[name][k]), 4) for name in CRITERIA}
        members.append({"mentee_id": cohort.mentee_ids[i[k]], "score": round(float(sum(breakdown[name][k] for name in CRITERIA)), 4),
                        "breakdown": parts,
                        "criteria": _criteria_sentences(cohort, k, details, i, mentee_targets, None)})
    return members


def describe_common(cohort, mentor_index, language, slot, mode):
    common = {"language": cohort.languages[language] if language is not None else None,
              "slot": codes.SLOTS[slot] if slot is not None else None,
              "mode": codes.MODES[mode] if mode is not None else None}
    if mode is not None and mode != VIRTUAL:
        common["region"] = cohort.regions[cohort.mentor_region[mentor_index]] or None
    return common


def explain_group(settings, mentor, mentees, common=None):
    """One `groups[]` item of the result format for a mentor and mentees (instance format): the
    archetype they meet in, each member's score broken down by weight with the criteria that
    matched, and the group's score (the sum of its members'; the mentor's load penalty is part of
    the run's objective, not of a group). `common` may name the preferred language/slot/mode."""
    cohort = Cohort(settings, mentees, [mentor])
    count = len(mentees)
    i, m = np.arange(count), np.zeros(count, dtype=np.int64)
    language, slot, mode = common_choice(cohort, i, m, prefer=common)
    members = explain_members(cohort, i, m, [mentee.get("target_occupation") for mentee in mentees])
    rule_sets_used = sorted(set(cohort.rule_set))
    return {"mentor_id": str(mentor["id"]), "mentee_ids": [str(mentee["id"]) for mentee in mentees],
            "common": describe_common(cohort, 0, language, slot, mode),
            "rule_set": rule_sets_used[0] if len(rule_sets_used) == 1 else "mixed" if rule_sets_used else rule_set_for(cohort.settings, None),
            "score": round(sum(member["score"] for member in members), 4), "members": members}


PREFERENCE_CRITERIA = ("preferred mentor gender", "preferred mentor age band")


def shown_to(explanation, partner_id, mentor_partner_id):
    """The explanation of a group (explain_group's format, or a stored group or run result item)
    as the programme's partner `partner_id` may see and keep it. When the mentor belongs to
    another partner (pooled), it carries no trace of preference matching: the mentee's stated
    preferences would reveal that mentor's gender and age band, which the mentor bank never shows
    to another partner. So no preference criteria, no `preferences` in a breakdown, and member
    and group scores without those points (each member's score is the sum of the parts shown,
    the group's the sum of its members'). The optimiser still honours preferences. The
    partner's own mentors' explanations are returned unchanged. Idempotent; returns a new dict."""
    if explanation is None or mentor_partner_id == partner_id:
        return explanation
    members = []
    for member in explanation.get("members") or ():
        member = dict(member)
        if "breakdown" in member or "score" in member:
            parts = {name: value for name, value in (member.get("breakdown") or {}).items() if name != "preferences"}
            member["breakdown"] = parts
            member["score"] = round(float(sum(parts.values())), 4)
        if "criteria" in member:
            member["criteria"] = [c for c in member.get("criteria") or () if c not in PREFERENCE_CRITERIA]
        members.append(member)
    shown = dict(explanation, members=members)
    if "score" in explanation or members:
        shown["score"] = round(float(sum(member.get("score") or 0 for member in members)), 4)
    return shown
