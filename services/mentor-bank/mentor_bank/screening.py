"""Screening that runs out. A mentor whose background check expired is ineligible for new groups
from that moment (cards.eligible_now reads the expiry); this timer's job is only to say so, once
per check, with mentor.screening_expired."""
from coalition_common.errors import Conflict, NotFound
from coalition_common.events import outbox_entry
from coalition_common.ids import as_stored, utcnow
from mentor_bank import mentors, outbox


def announce_expired(database, dispatch, now=None):
    """Announce every check that has expired and was not announced yet. Returns how many."""
    now = as_stored(now or utcnow())
    announced = 0
    # Dotted conditions on an embedded document work alike on MongoDB and FerretDB.
    for mentor in database.mentors.find({"screening.expires_at": {"$lte": now}, "screening.expiry_announced": False}):
        event = outbox_entry("mentor.screening_expired", mentors.about(mentor, now))
        try:
            mentors.write(database, mentor, {"screening": dict(mentor["screening"], expiry_announced=True)}, [event])
        except (Conflict, NotFound):
            continue  # changed meanwhile: the next run looks again
        outbox.publish(database, mentor["_id"], [event], dispatch)
        announced += 1
    return announced
