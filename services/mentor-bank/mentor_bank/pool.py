"""The shared mentor pool. A partner joins by accepting the coalition charter (the registry tells
us by event). Another partner's mentor is visible only when the mentor consented to coalition
sharing and both partners have joined; even then only as a card of pooled fields (cards.py),
never with a name or contact details: those stay with the partner that recruited them. The
coalition admin is treated as a partner that has joined: pooled cards, nothing personal."""
from coalition_common.ids import utcnow
from mentor_bank.cards import card_of


def join(database, event):
    """Idempotent: a redelivered event sets the same values again."""
    database.pool_partners.update_one(
        {"_id": event["partner_id"]},
        {"$set": {"version": event["version"], "joined_at": utcnow()}},
        upsert=True,
    )


def members(database):
    """The partners that have joined the pool (a small collection: one document a partner)."""
    return {p["_id"] for p in database.pool_partners.find({}, {"_id": 1})}


def caller_joined(caller, joined):
    return "coalition_admin" in (caller.get("roles") or ()) or caller.get("partner_id") in joined


def sees_card(caller, card, joined):
    """"own", "pooled" or None: how the caller may see the mentor this card describes."""
    if card.get("status") == "erased":
        return None
    if card["partner_id"] == caller.get("partner_id"):
        return "own"
    # A retired mentor no longer shows in the pool (their own partner still sees them).
    if (card.get("scope") == "coalition" and card.get("status") != "retired" and card["partner_id"] in joined
            and caller_joined(caller, joined)):
        return "pooled"
    return None


def sees(database, caller, mentor):
    return sees_card(caller, card_of(mentor), members(database))
