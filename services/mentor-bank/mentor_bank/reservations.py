"""Capacity reservations for matching: a proposal holds one of a mentor's places until it is
confirmed or released, or its time runs out.

A mentor is never over capacity under concurrent calls, without transactions: holds live in the
mentor's own document and every change to them is a versioned update (coalition_common.revisions),
so of several reservations read against the same state exactly one is written; the others read
again and see the place taken. Expired holds free themselves: they are not counted, and the next
change drops them. Every call is idempotent by proposal id. A hold records the partner whose
coordinator made it, and only that partner's staff confirm or release it: knowing a proposal id
is not enough to free another partner's place.
"""
import datetime
import random
import time

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.ids import as_stored, utcnow
from coalition_common.revisions import update_versioned, version_of
from mentor_bank import cards, pool

MAX_TTL_SECONDS = 7 * 24 * 3600
# Losing writers read again and retry; with every racer retrying, each round one of them wins.
MAX_ROUNDS = 200


def _capacity(mentor):
    return mentor.get("capacity") or 1


def _changed(database, mentor_id, decide):
    """Apply `decide(mentor, live_holds, now) -> (new holds or None, answer)` as one versioned
    write, reading again whenever another writer got there first. None writes nothing."""
    for _ in range(MAX_ROUNDS):
        mentor = database.mentors.find_one({"_id": mentor_id})
        if mentor is None:
            raise NotFound("No such mentor.")
        now = utcnow()
        holds, answer = decide(mentor, cards.live_holds(mentor.get("holds"), now), now)
        if holds is None:
            return answer
        try:
            after = update_versioned(database.mentors, mentor_id, version_of(mentor), {"holds": holds}, what="mentor")
            cards.record(database, after)  # places left, for every instance's search index
            return answer
        except Conflict:
            time.sleep(random.uniform(0.001, 0.01))  # another writer won this round
    raise Conflict("The mentor is changing too often right now; try again.", {"mentor_id": ["Busy."]})


def _shown(hold, mentor_id):
    return {"mentor_id": mentor_id, "proposal_id": hold["proposal_id"], "status": hold["status"],
            "expires_at": hold["expires_at"].isoformat() if hold["status"] == "held" else None}


def reserve(database, identity, mentor_id, proposal_id, ttl_seconds):
    """Hold one of the mentor's places for `proposal_id` for `ttl_seconds`. Conflict when every
    place is taken. Reserving again for the same proposal returns its hold."""
    if not isinstance(ttl_seconds, int) or isinstance(ttl_seconds, bool) or not 1 <= ttl_seconds <= MAX_TTL_SECONDS:
        raise ValidationFailed("ttl_seconds is out of range.", {"ttl_seconds": [f"Must be a whole number from 1 to {MAX_TTL_SECONDS}."]})
    if not isinstance(proposal_id, str) or not 1 <= len(proposal_id) <= 64:
        raise ValidationFailed("proposal_id is invalid.", {"proposal_id": ["Must be 1 to 64 characters."]})
    if not isinstance(mentor_id, str) or len(mentor_id) > 64:
        raise NotFound("No such mentor.")
    joined = pool.members(database)

    def decide(mentor, live, now):
        # Only a mentor the caller may see under the pooling rules now (consent withdrawn a
        # moment ago counts) and eligible for new groups can be reserved.
        if not pool.sees_card(identity, cards.card_of(mentor), joined):
            raise NotFound("No such mentor.")
        mine = _held_by(live, proposal_id, identity)
        if mine is not None:
            return None, _shown(mine, mentor_id)
        if any(h["proposal_id"] == proposal_id for h in live):
            raise Conflict("Another partner holds a place under this proposal id.", {"proposal_id": ["Taken."]})
        if not cards.eligible_now(cards.card_of(mentor), now):
            raise Conflict("The mentor is not eligible for new groups (status, orientation or screening).", {"mentor_id": ["Not eligible."]})
        if len(live) >= _capacity(mentor):
            raise Conflict("The mentor has no free place.", {"mentor_id": ["No free place."]})
        hold = {"proposal_id": proposal_id, "partner_id": identity.get("partner_id"), "status": "held",
                "expires_at": as_stored(now + datetime.timedelta(seconds=ttl_seconds))}
        return live + [hold], _shown(hold, mentor_id)

    return _changed(database, mentor_id, decide)


def _held_by(live, proposal_id, identity):
    """The caller's partner's hold for the proposal, if any."""
    return next((h for h in live if h["proposal_id"] == proposal_id and h.get("partner_id") == identity.get("partner_id")), None)


def _find_holder(database, proposal_id):
    if not isinstance(proposal_id, str) or not 1 <= len(proposal_id) <= 64:
        raise NotFound("No such reservation.")
    # The dotted form: one condition on the array (FerretDB 1.x answers $elemMatch with nothing).
    mentor = database.mentors.find_one({"holds.proposal_id": proposal_id}, {"_id": 1})
    if mentor is None:
        raise NotFound("No such reservation.")
    return mentor["_id"]


def confirm(database, identity, proposal_id):
    """Turn the proposal's hold into a place taken for good. Confirming again changes nothing;
    a hold whose time ran out cannot be confirmed (NotFound): reserve again."""
    mentor_id = _find_holder(database, proposal_id)
    joined = pool.members(database)

    def decide(mentor, live, now):
        mine = _held_by(live, proposal_id, identity)
        if mine is None:
            raise NotFound("No such reservation.")
        if mine["status"] == "confirmed":
            return None, _shown(mine, mentor_id)
        # A proposal is not yet a group: consent withdrawn since the hold was made stops it.
        if not pool.sees_card(identity, cards.card_of(mentor), joined):
            raise Conflict("The mentor no longer shares with your partner.", {"proposal_id": ["Mentor no longer visible."]})
        confirmed = dict(mine, status="confirmed")
        return [confirmed if h is mine else h for h in live], _shown(confirmed, mentor_id)

    return _changed(database, mentor_id, decide)


def release(database, identity, proposal_id):
    """Free the proposal's place, held or confirmed. Releasing again (or an unknown proposal)
    is not an error: the place is free either way."""
    try:
        mentor_id = _find_holder(database, proposal_id)
    except NotFound:
        return {"proposal_id": proposal_id, "released": True}

    def decide(mentor, live, now):
        mine = _held_by(live, proposal_id, identity)
        kept = [h for h in live if h is not mine]
        if mine is None and len(kept) == len(mentor.get("holds") or ()):
            return None, {"proposal_id": proposal_id, "released": True}
        return kept, {"proposal_id": proposal_id, "released": True}

    return _changed(database, mentor_id, decide)


