"""The mentors a matching run may place groups with, as the matching engine reads them.

Served from the in-memory search index (search.py), never from a database scan: the mentors the
caller may see under the pooling rules (their own partner's, and, once their partner joined the
pool, other joined partners' mentors who consented to coalition sharing), eligible now
(active, oriented, with a valid screening) and with a place left. Each comes in the engine's
instance format: codes and numbers, never a name, email, phone, city or employer.

Gender and age band are personal and the search index never holds them. A run whose mentees state
a preference for them asks `preference_codes` once for all its candidates: one read of the bank
(FerretDB scans a collection for any query but by one id, so per-page reads would cost a scan
each), answered as codes only for the mentors the caller may use, for the engine to honour the
preference; matching never shows them.
"""
from coalition_common import codes
from coalition_common.errors import ValidationFailed
from coalition_common.ids import utcnow
from coalition_common.pagination import decode_cursor, encode_cursor
from mentor_bank import cards, pool

MAX_PAGE = 1000
# What an instance mentor holds, and nothing else.
FIELDS = ("id", "partner_id", "occupations", "languages", "region", "modes", "availability", "years_experience", "places",
          "supports_communication_needs", "eligible", "visible")
MAX_IDS = 100_000
CANDIDATES = {"eligible_now": True, "has_capacity": True}


def candidate(card, now):
    """A card in the engine's instance format."""
    return {
        "id": card["id"], "partner_id": card["partner_id"], "occupations": list(card["occupations"]),
        "languages": [dict(skill) for skill in card["languages"]], "region": card["region"], "modes": list(card["modes"]),
        "availability": codes.slot_names(card["availability"]), "years_experience": card["years_experience"],
        "places": cards.places_left(card, now), "supports_communication_needs": bool(card.get("supports_communication_needs")),
        "eligible": True, "visible": True,
    }


def matching_candidates(database, index, caller, cursor=None, limit=MAX_PAGE):
    """One page (up to MAX_PAGE, in id order) of candidate mentors: {items, next_cursor}."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit is out of range.", {"limit": [f"Must be between 1 and {MAX_PAGE}."]})
    if cursor is not None and not isinstance(cursor, str):
        raise ValidationFailed("The cursor is not one this API gave out.", {"cursor": ["Invalid cursor."]})
    after = decode_cursor(cursor)
    joined = pool.members(database)
    now = utcnow()
    found = index.matching(database, CANDIDATES, caller, joined, after, limit + 1, now)
    more = len(found) > limit
    found = found[:limit]
    return {
        "items": [candidate(card, now) for card, _ in found],
        "next_cursor": encode_cursor(found[-1][0]["id"]) if more else None,
    }


def preference_codes(database, index, caller, mentor_ids):
    """{mentor id: {"gender"?, "age_band"?}} for those of `mentor_ids` that are candidates for
    the caller and declared either; the others are left out."""
    if not isinstance(mentor_ids, list) or len(mentor_ids) > MAX_IDS or not all(isinstance(i, str) for i in mentor_ids):
        raise ValidationFailed("mentor_ids must be a list of ids.", {"mentor_ids": [f"At most {MAX_IDS} ids."]})
    joined = pool.members(database)
    now = utcnow()
    catalogue = index.fresh(database)
    usable = set()
    for mentor_id in set(mentor_ids):
        card = catalogue.card(mentor_id)
        if card is not None and pool.sees_card(caller, card, joined) and cards.eligible_now(card, now):
            usable.add(mentor_id)
    if not usable:
        return {}
    declared = database.mentors.find({"$or": [{"gender": {"$ne": None}}, {"age_band": {"$ne": None}}]},
                                     {"gender": 1, "age_band": 1})
    return {mentor["_id"]: {name: mentor[name] for name in ("gender", "age_band") if mentor.get(name)}
            for mentor in declared if mentor["_id"] in usable}


def matching_candidate(database, caller, mentor_id):
    """One mentor in the engine's instance format, whatever its eligibility and places, for a
    coordinator's edit of a proposal (review checks the hard rules on it). NotFound unless the
    caller may see the mentor under the pooling rules now."""
    from coalition_common.errors import NotFound

    if not isinstance(mentor_id, str) or len(mentor_id) > 64:
        raise NotFound("No such mentor.")
    mentor = database.mentors.find_one({"_id": mentor_id})
    card = cards.card_of(mentor) if mentor is not None else None
    if card is None or not pool.sees_card(caller, card, pool.members(database)):
        raise NotFound("No such mentor.")
    now = utcnow()
    return dict(candidate(card, now), eligible=bool(cards.eligible_now(card, now)))
