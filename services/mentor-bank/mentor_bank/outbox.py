"""The mentor bank's outbox relay, without reading every mentor.

Events live in the changed mentor's own outbox, written with the change, as everywhere else. But
the usual relay looks for leftover entries across the whole collection, and FerretDB answers that
by scanning it: some 40 s at 100,000 mentors, every 10 s. So each event also gets a marker in a
small collection, written *before* the mentor (a marker without its event is harmless; an event
without its marker could only be found by a scan) and removed once the entry left the outbox.
The relay reads the markers; a full scan runs rarely, as a safety net.
"""
import datetime

from coalition_common import revisions
from coalition_common.events import publish_outbox, relay_outbox
from coalition_common.ids import utcnow

# A marker this old whose event is not in its mentor's outbox belongs to a write that never
# happened (or was cleared meanwhile): long enough that no write still under way is mistaken.
SETTLED_SECONDS = 60


def note(database, mentor_id, events):
    """Before the write that stores `events` in the mentor's outbox."""
    if events:
        database.mentor_outbox_pending.insert_many(
            [{"_id": entry["event_id"], "mentor_id": mentor_id, "at": entry["created_at"]} for entry in events])


def clear(collection, mentor_id, entry):
    """After publishing: the entry leaves the outbox (see revisions.pull_unversioned), then its marker."""
    if revisions.pull_unversioned(collection, mentor_id, entry):
        collection.database.mentor_outbox_pending.delete_one({"_id": entry["event_id"]})


def publish(database, mentor_id, events, dispatch):
    return publish_outbox(database.mentors, mentor_id, events, dispatch, clear)


def relay(database, dispatch, limit=200):
    """Publish what a crash or an outage left behind, mentor by marked mentor. Returns how many."""
    cutoff = utcnow() - datetime.timedelta(seconds=SETTLED_SECONDS)
    published = 0
    markers = list(database.mentor_outbox_pending.find({"at": {"$lt": cutoff}}).limit(limit))
    for mentor_id in {marker["mentor_id"] for marker in markers}:
        mentor = database.mentors.find_one({"_id": mentor_id}, {"outbox": 1}) or {}
        entries = mentor.get("outbox") or []
        left = {entry["event_id"] for entry in entries}
        for marker in markers:
            if marker["mentor_id"] == mentor_id and marker["_id"] not in left:
                database.mentor_outbox_pending.delete_one({"_id": marker["_id"]})
        published += publish(database, mentor_id, entries, dispatch) if entries else 0
    return published


def sweep(database, dispatch):
    """The safety net: every mentor's leftover entries, by a full scan."""
    return relay_outbox(database.mentors, dispatch, older_than_seconds=SETTLED_SECONDS, clear=clear)
