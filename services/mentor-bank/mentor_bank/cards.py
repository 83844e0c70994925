"""A mentor's card: what search and matching need to know of a mentor, and nothing personal.

Every write to a mentor records the card it leaves behind in `mentor_changes` (see search.py,
which keeps every service instance's in-memory index up to date from them). Cards never hold a name,
contact detail, city or anything else that identifies the person. Gender and age band are kept
as codes only to honour a mentee's stated preference in matching; they are never shown.
"""
from pymongo.errors import DuplicateKeyError

from coalition_common import codes
from coalition_common.ids import aware, new_id, utcnow

ELIGIBLE_CHECKS = ("clear", "not_required")
HEAD = "head"


def card_of(mentor):
    """The card of a stored mentor document."""
    screening = mentor.get("screening") or {}
    return {
        "id": mentor["_id"],
        "partner_id": mentor["partner_id"],
        "version": mentor.get("version", 1),
        "status": mentor.get("status"),
        "scope": (mentor.get("sharing") or {}).get("scope", "own_partner"),
        "occupations": list(mentor.get("occupations") or ()),
        "sectors": list(mentor.get("sectors") or ()),
        "languages": [dict(skill) for skill in mentor.get("languages") or ()],
        "region": mentor.get("region"),
        "modes": list(mentor.get("modes") or ()),
        "availability": codes.slot_mask(mentor.get("availability")),
        "years_experience": mentor.get("years_experience"),
        "capacity": mentor.get("capacity") or 1,
        "holds": [{"status": h["status"], "expires_at": h.get("expires_at")} for h in mentor.get("holds") or ()],
        "check": screening.get("background_check"),
        "check_expires_at": screening.get("expires_at"),
        "oriented": bool((mentor.get("orientation") or {}).get("completed_at")),
        "supports_communication_needs": bool(mentor.get("supports_communication_needs")),
        "gender": mentor.get("gender"),
        "age_band": mentor.get("age_band"),
    }


def screening_valid(card, now):
    """A background check that is clear (or not required) and has not expired."""
    expires = aware(card.get("check_expires_at"))
    return card.get("check") in ELIGIBLE_CHECKS and (expires is None or expires > now)


def eligible_now(card, now=None):
    """Eligible for new groups: active, oriented, with a valid screening. A failed or expired
    check makes a mentor ineligible from that moment, without anyone acting."""
    now = now or utcnow()
    return card.get("status") == "active" and card.get("oriented") and screening_valid(card, now)


def live_holds(holds, now):
    """Holds still taking a place: confirmed ones, and held ones whose time has not run out."""
    return [h for h in holds or () if h["status"] == "confirmed" or aware(h["expires_at"]) > now]


def places_left(card, now=None):
    now = now or utcnow()
    return max(card.get("capacity", 1) - len(live_holds(card.get("holds"), now)), 0)


def pooled_view(card, own, now=None):
    """The card as search shows it: pooled fields only, to every partner alike."""
    now = now or utcnow()
    return {
        "id": card["id"], "partner_id": card["partner_id"], "own": own,
        "occupations": card["occupations"], "sectors": card["sectors"], "region": card["region"],
        "modes": card["modes"], "languages": card["languages"], "years_experience": card["years_experience"],
        "capacity": card["capacity"], "places_left": places_left(card, now), "eligible_now": bool(eligible_now(card, now)),
    }


def record(database, *mentors):
    """Note the cards these mentor documents leave behind, for every instance's search index.
    An erased mentor leaves a card with status "erased", which search never shows."""
    if not mentors:
        return
    at = utcnow()
    database.mentor_changes.insert_many(
        [{"_id": new_id(), "mentor_id": m["_id"], "version": m.get("version", 1), "card": card_of(m), "at": at} for m in mentors],
        ordered=False,
    )
    bump_head(database)


def bump_head(database):
    """A new token once the entries are in, so a search index can tell in one small read
    whether anything was written since it last looked."""
    token = {"$set": {"token": new_id()}}
    try:
        database.mentor_changes_head.update_one({"_id": HEAD}, token, upsert=True)
    except DuplicateKeyError:  # two first writers at once: the other made the document
        database.mentor_changes_head.update_one({"_id": HEAD}, token)


def head_token(database):
    head = database.mentor_changes_head.find_one({"_id": HEAD})
    return head and head.get("token")
