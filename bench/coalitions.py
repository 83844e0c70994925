"""A seeded generator of synthetic coalitions for the matching engine (issue 8's benchmark): one
pooled matching run's instance, in the engine's instance format (plain JSON data; no names, no
emails, no personal fields), with the skew that makes group matching hard:

- many people in few occupations: a Zipf-like spread over real ISCO-08 unit groups, with a
  regulated share (health 22xx/32xx, teaching 23xx, legal 261x, engineering 214x/311x) that needs
  a mentor in the same minor group; mentees' demand leans to regulated work, mentors' supply to
  business and IT (corporate partners), so some sectors are short of mentors;
- home languages (ar, uk, fa, es, zh, fr, ti, so, ...) natively, the local language (en, fr in
  Quebec) at a CEFR level that is sometimes below the programme's minimum;
- a handful of ISO 3166-2 regions, most people in one; meeting modes; a few weekly slots each,
  mentees leaning to evenings and weekends;
- partners of very different sizes, 20% of which keep their mentors private: the instance is seen
  from one programme in a pooled coalition, so those mentors are `visible: false`.

The same (mentees, mentors, seed, partners) always gives the same instance.

    .venv/bin/python bench/coalitions.py --mentees 2000 --mentors 500 --seed 1 > instance.json
"""
import argparse
import json
import random
import sys

from coalition_common import codes

# (unit group, weight): weights are Zipf-like (a few unit groups hold most people). Real ISCO-08
# unit groups; the comment names each once.
REGULATED = [
    ("2221", 1.00),  # nursing professionals
    ("2211", 0.62),  # generalist medical practitioners
    ("2142", 0.48),  # civil engineers
    ("2330", 0.38),  # secondary education teachers
    ("2262", 0.31),  # pharmacists
    ("2144", 0.27),  # mechanical engineers
    ("2341", 0.23),  # primary school teachers
    ("3221", 0.20),  # nursing associate professionals
    ("2611", 0.18),  # lawyers
    ("2212", 0.16),  # specialist medical practitioners
    ("2261", 0.14),  # dentists
    ("3112", 0.13),  # civil engineering technicians
    ("2141", 0.12),  # industrial and production engineers
    ("2310", 0.11),  # university and higher education teachers
    ("3212", 0.10),  # medical and pathology laboratory technicians
    ("2145", 0.09),  # chemical engineers
    ("2264", 0.08),  # physiotherapists
    ("2342", 0.08),  # early childhood educators
    ("3115", 0.07),  # mechanical engineering technicians
    ("2222", 0.06),  # midwifery professionals
    ("3213", 0.06),  # pharmaceutical technicians and assistants
    ("2619", 0.05),  # legal professionals not elsewhere classified
    ("3113", 0.05),  # electrical engineering technicians
    ("2146", 0.04),  # mining engineers, metallurgists
    ("2352", 0.04),  # other language teachers
    ("3256", 0.03),  # medical assistants
    ("2612", 0.02),  # judges
]
UNREGULATED = [
    ("2512", 1.00),  # software developers
    ("2411", 0.70),  # accountants
    ("2511", 0.45),  # systems analysts
    ("2421", 0.36),  # management and organization analysts
    ("2151", 0.30),  # electrical engineers
    ("1211", 0.25),  # finance managers
    ("2431", 0.22),  # advertising and marketing professionals
    ("2412", 0.19),  # financial and investment advisers
    ("2513", 0.17),  # web and multimedia developers
    ("2152", 0.15),  # electronics engineers
    ("3313", 0.14),  # accounting associate professionals
    ("2631", 0.12),  # economists
    ("2113", 0.11),  # chemists
    ("2131", 0.10),  # biologists, botanists, zoologists
    ("2423", 0.09),  # personnel and careers professionals
    ("1212", 0.08),  # human resource managers
    ("2514", 0.08),  # applications programmers
    ("2521", 0.07),  # database designers and administrators
    ("1221", 0.06),  # sales and marketing managers
    ("2642", 0.05),  # journalists
    ("2163", 0.05),  # product and garment designers
    ("3343", 0.05),  # administrative and executive secretaries
    ("7411", 0.04),  # building and related electricians
    ("7231", 0.04),  # motor vehicle mechanics and repairers
    ("2632", 0.03),  # sociologists, anthropologists
    ("7126", 0.03),  # plumbers and pipe fitters
]
# Jobs newcomers hold while their credentials wait: a mentee's current occupation is often one.
SURVIVAL_JOBS = [
    ("8322", 1.0),  # car, taxi and van drivers
    ("9112", 0.8),  # cleaners and helpers in offices, hotels
    ("5223", 0.7),  # shop sales assistants
    ("5120", 0.5),  # cooks
    ("5321", 0.5),  # health care assistants
    ("4110", 0.4),  # general office clerks
    ("9321", 0.3),  # hand packers
]
REGULATED_PREFIXES = ("22", "32", "23", "261", "214", "311")
MENTEE_REGULATED_SHARE = 0.42
MENTOR_REGULATED_SHARE = 0.30

REGIONS = [("CA-ON", 0.44), ("CA-QC", 0.20), ("CA-BC", 0.15), ("CA-AB", 0.12), ("CA-MB", 0.04),
           ("CA-NS", 0.03), ("CA-SK", 0.02)]
# A newcomer's home language; spoken natively.
HOME_LANGUAGES = [("ar", 0.20), ("uk", 0.13), ("es", 0.11), ("fa", 0.09), ("zh", 0.09), ("tl", 0.07),
                  ("pa", 0.06), ("fr", 0.05), ("ti", 0.05), ("so", 0.04), ("hi", 0.04), ("pt", 0.04),
                  ("ru", 0.03)]
# The local language's level among newcomers (B1 is the programmes' usual minimum).
MENTEE_LOCAL_LEVELS = [("A2", 0.10), ("B1", 0.30), ("B2", 0.34), ("C1", 0.19), ("C2", 0.07)]
MENTOR_LOCAL_LEVELS = [("B2", 0.10), ("C1", 0.20), ("C2", 0.15), ("native", 0.55)]
ALUMNI_SHARE = 0.30  # mentors who came as newcomers themselves and speak a home language
MENTEE_GOALS = [g for g in codes.GOALS]
LEVELS = codes.LANGUAGE_LEVELS


def _pick(rng, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights=weights, k=1)[0]


def _local_language(rng, region):
    """The local language of a region: French in Quebec mostly, English elsewhere."""
    if region == "CA-QC":
        return "fr" if rng.random() < 0.8 else "en"
    return "en"


def _availability(rng, low, high, evening_lean):
    """A few weekly slots; evening_lean weights weekday evenings and weekend days up."""
    weights = []
    for slot in codes.SLOTS:
        day, part = slot.split("_")
        weekend = day in ("sat", "sun")
        weight = 1.0
        if part == "evening" and not weekend:
            weight = evening_lean
        elif weekend and part != "evening":
            weight = evening_lean * 0.8
        elif part == "morning" and not weekend:
            weight = 0.6
        weights.append(weight)
    count = rng.randint(low, high)
    chosen = set()
    while len(chosen) < count:
        chosen.add(rng.choices(codes.SLOTS, weights=weights, k=1)[0])
    return sorted(chosen, key=codes.SLOTS.index)


def _modes(rng, virtual, in_person, hybrid):
    modes = [mode for mode, share in (("in_person", in_person), ("virtual", virtual), ("hybrid", hybrid))
             if rng.random() < share]
    return modes or [rng.choice(codes.MODES)]


def _occupation(rng, regulated_share):
    return _pick(rng, REGULATED if rng.random() < regulated_share else UNREGULATED)


def _neighbours(code):
    """Other listed unit groups of the same minor group, else of the same sub-major group."""
    listed = [c for c, _ in REGULATED + UNREGULATED if c != code]
    same_minor = [c for c in listed if c[:3] == code[:3]]
    return same_minor or [c for c in listed if c[:2] == code[:2]]


def _partner_count(mentors, partners):
    if partners is not None:
        return max(1, partners)
    return max(2, round(50 * mentors / 500))


def _mentee(rng, index):
    region = _pick(rng, REGIONS)
    local = _local_language(rng, region)
    home = _pick(rng, HOME_LANGUAGES)
    languages = {home: "native"}
    if local != home:
        languages[local] = _pick(rng, MENTEE_LOCAL_LEVELS)
    # Some speak the other official language too (Maghreb, Haiti, Quebec).
    other = "fr" if local == "en" else "en"
    if other not in languages and rng.random() < (0.25 if home in ("ar", "fr") else 0.08):
        languages[other] = rng.choice(("A2", "B1", "B2", "C1"))
    target = _occupation(rng, MENTEE_REGULATED_SHARE)
    if rng.random() < 0.55:
        occupation = target
    else:
        occupation = _pick(rng, SURVIVAL_JOBS)
    regulated = target.startswith(REGULATED_PREFIXES)
    goals = set()
    if regulated and rng.random() < 0.7:
        goals.add("licensure")
    wanted = rng.randint(1, 3)
    while len(goals) < wanted:
        goals.add(rng.choice(MENTEE_GOALS))
    preferences = {}
    if rng.random() < 0.15:
        preferences["mentor_gender"] = rng.choice(("woman", "woman", "man"))
    if rng.random() < 0.08:
        preferences["mentor_age_band"] = rng.choice(codes.AGE_BANDS[1:4])
    waiting = min(540, int(rng.expovariate(1 / 60)))
    return {
        "id": f"e{index:06d}",
        "target_occupation": target,
        "occupation": occupation,
        "years_experience": rng.randint(1, 25),
        "languages": [{"code": code, "level": level} for code, level in sorted(languages.items())],
        "region": region,
        "modes": _modes(rng, virtual=0.65, in_person=0.5, hybrid=0.35),
        "availability": _availability(rng, 2, 6, evening_lean=3.0),
        "goals": sorted(goals, key=codes.GOALS.index),
        "preferences": preferences,
        "needs_communication_support": rng.random() < 0.10,
        "waiting_days": waiting,
    }


def _mentor(rng, index, partner_id, private):
    region = _pick(rng, REGIONS)
    local = _local_language(rng, region)
    languages = {local: _pick(rng, MENTOR_LOCAL_LEVELS)}
    if rng.random() < ALUMNI_SHARE:
        home = _pick(rng, HOME_LANGUAGES)
        languages[home] = "native"
        if local != home:
            languages[local] = rng.choice(("B2", "C1", "C1", "C2"))
    other = "fr" if local == "en" else "en"
    if other not in languages and rng.random() < 0.15:
        languages[other] = rng.choice(("B1", "B2", "C1", "C2"))
    first = _occupation(rng, MENTOR_REGULATED_SHARE)
    occupations = [first]
    for _ in range(rng.choices((0, 1, 2), weights=(0.55, 0.3, 0.15))[0]):
        nearby = [c for c in _neighbours(first) if c not in occupations]
        if nearby:
            occupations.append(rng.choice(nearby))
    mentor = {
        "id": f"m{index:05d}",
        "partner_id": partner_id,
        "occupations": occupations,
        "languages": [{"code": code, "level": level} for code, level in sorted(languages.items())],
        "region": region,
        "modes": _modes(rng, virtual=0.6, in_person=0.55, hybrid=0.4),
        "availability": _availability(rng, 2, 5, evening_lean=2.0),
        "years_experience": rng.randint(3, 35),
        "places": rng.choices((1, 2, 3), weights=(0.5, 0.3, 0.2))[0],
        "supports_communication_needs": rng.random() < 0.2,
        "eligible": rng.random() >= 0.05,  # a lapsed screening or a missing orientation
        "visible": not private,
    }
    if rng.random() < 0.9:
        mentor["gender"] = rng.choices(codes.GENDERS, weights=(0.52, 0.46, 0.02))[0]
    if rng.random() < 0.9:
        mentor["age_band"] = rng.choices(codes.AGE_BANDS, weights=(0.1, 0.3, 0.3, 0.2, 0.1))[0]
    return mentor


def generate(mentees, mentors, seed=0, partners=None):
    """One pooled programme's instance: `mentees` waiting mentees, `mentors` mentors of
    `partners` partners (50 per 500 mentors unless given), 20% of them private."""
    rng = random.Random(f"coalition-{seed}")
    count = _partner_count(mentors, partners)
    partner_ids = [f"p{n:04d}" for n in range(1, count + 1)]
    private = set(rng.sample(partner_ids, round(0.2 * count)))
    # Partner sizes are skewed: a few large employers, many small NGOs.
    sizes = [1 / (rank + 1) ** 0.8 for rank in range(count)]
    rng.shuffle(sizes)
    mentor_partners = rng.choices(partner_ids, weights=sizes, k=mentors)
    return {
        "settings": {"group_size_min": 3, "group_size_max": 5, "min_language_level": "B1",
                     "rule_set": "auto", "weights": {}, "seed": seed, "time_limit_seconds": 20},
        "mentees": [_mentee(rng, n) for n in range(1, mentees + 1)],
        "mentors": [_mentor(rng, n, partner, partner in private)
                    for n, partner in enumerate(mentor_partners, start=1)],
    }


def describe(instance):
    """A few lines on the instance's skew (for the bench's header)."""
    mentees, mentors = instance["mentees"], instance["mentors"]
    top = {}
    for mentee in mentees:
        top[mentee["target_occupation"]] = top.get(mentee["target_occupation"], 0) + 1
    ranked = sorted(top.values(), reverse=True)
    regulated = sum(m["target_occupation"].startswith(REGULATED_PREFIXES) for m in mentees)
    visible = sum(m.get("visible", True) for m in mentors)
    seats = sum(m["places"] for m in mentors if m.get("visible", True) and m.get("eligible", True))
    return (f"{len(mentees)} mentees in {len(top)} target occupations (top 5 hold "
            f"{sum(ranked[:5]) / max(1, len(mentees)):.0%}), regulated {regulated / max(1, len(mentees)):.0%}; "
            f"{len(mentors)} mentors of {len({m['partner_id'] for m in mentors})} partners, "
            f"{visible / max(1, len(mentors)):.0%} visible, {seats} free groups among visible eligible")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentees", type=int, default=2000)
    parser.add_argument("--mentors", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--partners", type=int, default=None, help="default: 50 per 500 mentors")
    parser.add_argument("--describe", action="store_true", help="print a summary on stderr too")
    args = parser.parse_args(argv)
    instance = generate(args.mentees, args.mentors, seed=args.seed, partners=args.partners)
    if args.describe:
        print(describe(instance), file=sys.stderr)
    json.dump(instance, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
