"""Mentor search for coordinators, served from memory.

FerretDB scans a whole collection for every query (no secondary index is used), so a filtered
search over 100,000 mentors cannot be asked of the database. Each service instance keeps instead
a catalogue of every mentor's card (cards.py: nothing personal) and answers searches from it:

- Loading: once, every mentor with a projection of the fields a card is made of.
- Catching up, before every search: the `mentor_changes` entries written since the last catch-up
  (every write to a mentor records one, whichever instance made it), so a search sees every write
  that finished before it began, on any instance. A change applies only if it is newer than the
  card held, so entries read twice or out of order do no harm.
- `mentor_changes` stays small: entries older than RETENTION are purged. Every instance reads
  the entries at least every FOLLOW_EVERY, while loading too (a full read of 100,000 mentors
  takes FerretDB longer than RETENTION); one that has not for half of RETENTION reloads everything
  rather than miss a purged entry. Every instance also reloads every RELOAD_EVERY (in the
  background, searches going on) in case a crash came between a mentor's write and its entry.

The catalogue holds each filterable value as a posting: a Python int used as a bit set over the
mentors' positions in id order (ids sort by creation time, the cursor's order). A filter is an
`&` of postings, a prefix or a minimum level an `|` of a few; the answer is the first set bits
after the cursor. The only per-mentor checks left are the ones that depend on the clock (holds
expire, screenings run out) and the pooling rule itself (pool.sees_card), on the page's cards only.
"""
import bisect
import datetime
import logging
import threading
import time
from collections import defaultdict

import eventlet
from nameko.extensions import DependencyProvider

from coalition_common import codes
from coalition_common.ids import utcnow
from coalition_common.mongo import connect
from coalition_common.pagination import decode_cursor, encode_cursor
from coalition_common.schemas import load
from coalition_common.tracing import setup_service_tracing
from mentor_bank import cards, pool
from mentor_bank.schemas import SearchQuerySchema

log = logging.getLogger(__name__)

# Change entries written by different instances may commit out of the order of their `at`; each
# catch-up reads again this far back.
OVERLAP = datetime.timedelta(seconds=10)
# Short, because FerretDB reads the whole collection on every catch-up (about 0.15 ms an entry).
RETENTION = datetime.timedelta(minutes=2)
PURGE_EVERY = 60  # seconds, per instance
FOLLOW_EVERY = 5  # seconds: the background catch-up that keeps an idle instance within RETENTION
RELOAD_EVERY = 600  # seconds: the safety net

# Stored mentor fields that card_of reads, personal ones (gender, age band) left out: the index
# never holds them (matching reads them apart: candidates.preference_codes).
SOURCE_PROJECTION = {name: 1 for name in (
    "partner_id", "version", "status", "sharing.scope", "occupations", "sectors", "languages", "region", "modes",
    "availability", "years_experience", "capacity", "holds.status", "holds.expires_at",
    "screening.background_check", "screening.expires_at", "orientation.completed_at",
    "supports_communication_needs")}
# What the catalogue keeps of a card, in this order.
CARD_FIELDS = ("id", "partner_id", "version", "status", "scope", "occupations", "sectors", "languages", "region",
               "modes", "availability", "years_experience", "capacity", "holds", "check", "check_expires_at", "oriented",
               "supports_communication_needs")
ERASED = "erased"
NEVER = object()  # no head token seen yet: not even "none"
# Out-of-order arrivals shift every posting; past this many in one catch-up, rebuilding is cheaper.
MAX_SHIFTS = 64
YIELD_EVERY = 500  # cards read or built between yields, so a background reload does not stall searches

ALL, COALITION, ELIGIBLE, EXPIRING, HELD, FULL = ("all",), ("coalition",), ("eligible",), ("expiring",), ("held",), ("full",)


def _bitset(positions, size):
    """An int with the bits at `positions` set."""
    flags = bytearray(size)
    for position in positions:
        flags[position] = 1
    return int(flags[::-1].translate(_AS_DIGITS).decode() or "0", 2)


_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")


def _positions(bits, start):
    """The set bits of `bits` from `start` up, lowest first."""
    bits >>= start
    while bits:
        low = (bits & -bits).bit_length() - 1
        start += low
        yield start
        bits >>= low + 1
        start += 1


def _any_of(postings):
    union = 0
    for bits in postings:
        union |= bits
    return union


def _keys(card):
    """The postings a live card belongs to."""
    keys = [ALL, ("partner", card["partner_id"]), ("region", card["region"])]
    keys += [("isco", code) for code in card["occupations"]]
    keys += [("sector", code) for code in card["sectors"]]
    keys += [("language", skill["code"], skill["level"]) for skill in card["languages"]]
    keys += [("mode", mode) for mode in card["modes"]]
    mask = card["availability"] or 0
    keys += [("slot", slot) for slot in range(len(codes.SLOTS)) if mask >> slot & 1]
    if card["scope"] == "coalition" and card["status"] != "retired":  # as pool.sees_card
        keys.append(COALITION)
    # Eligibility and places left depend on the clock too: the postings narrow the candidates,
    # cards.eligible_now and cards.places_left decide.
    if card["status"] == "active" and card["oriented"] and card["check"] in cards.ELIGIBLE_CHECKS:
        keys.append(ELIGIBLE)
        if card["check_expires_at"] is not None:
            keys.append(EXPIRING)
    if card["holds"]:
        keys.append(HELD)
        if sum(hold["status"] == "confirmed" for hold in card["holds"]) >= card["capacity"]:
            keys.append(FULL)  # full until the card changes, whatever the time
    return set(keys)


class Catalogue:
    """Every mentor's card, with postings over their positions in id order. Erased mentors keep
    a position and their version (so an older change cannot bring them back), in no posting."""

    def __init__(self):
        self.ids = []  # sorted; a mentor's position is its index here
        self.cards = {}  # id -> packed card
        self.postings = {}  # key -> bit set of positions
        self._shared = {}  # one copy of each recurring value (codes, partner ids, lists of codes)

    # Cards are kept as tuples of shared values: with the postings, a quarter of the memory of the cards as dicts.
    def _share(self, value):
        return self._shared.setdefault(value, value)

    def _pack(self, card):
        share = self._share
        return (
            card["id"], share(card["partner_id"]), card.get("version") or 1, share(card.get("status")),
            share(card.get("scope") or "own_partner"), share(tuple(card.get("occupations") or ())),
            share(tuple(card.get("sectors") or ())),
            share(tuple((skill["code"], skill["level"]) for skill in card.get("languages") or ())),
            share(card.get("region")), share(tuple(card.get("modes") or ())), card.get("availability") or 0,
            card.get("years_experience"), card.get("capacity") or 1,
            tuple((share(hold["status"]), hold.get("expires_at")) for hold in card.get("holds") or ()),
            share(card.get("check")), card.get("check_expires_at"), bool(card.get("oriented")),
            bool(card.get("supports_communication_needs")),
        )

    @staticmethod
    def unpack(packed):
        card = dict(zip(CARD_FIELDS, packed))
        card["occupations"], card["sectors"], card["modes"] = list(card["occupations"]), list(card["sectors"]), list(card["modes"])
        card["languages"] = [{"code": code, "level": level} for code, level in card["languages"]]
        card["holds"] = [{"status": status, "expires_at": expires_at} for status, expires_at in card["holds"]]
        return card

    def __len__(self):
        return len(self.ids)

    def version(self, mentor_id):
        packed = self.cards.get(mentor_id)
        return packed[2] if packed else 0

    def card(self, mentor_id):
        packed = self.cards.get(mentor_id)
        return self.unpack(packed) if packed else None

    @classmethod
    def built(cls, given_cards, pause=lambda: None):
        """A catalogue of these cards at once (the newest of each mentor's), far faster than
        putting them one by one: each posting is made in one go."""
        catalogue = cls()
        newest = {}
        for count, card in enumerate(given_cards, 1):
            held = newest.get(card["id"])
            if held is None or (card.get("version") or 1) > held[2]:
                newest[card["id"]] = catalogue._pack(card)
            if count % YIELD_EVERY == 0:
                pause()
        catalogue.ids = sorted(newest)
        catalogue.cards = newest
        positions = defaultdict(list)
        for position, mentor_id in enumerate(catalogue.ids):
            card = catalogue.unpack(newest[mentor_id])
            if card["status"] != ERASED:
                for key in _keys(card):
                    positions[key].append(position)
            if position % YIELD_EVERY == 0:
                pause()
        size = len(catalogue.ids)
        catalogue.postings = {key: _bitset(found, size) for key, found in positions.items()}
        return catalogue

    def put_all(self, changed_cards):
        """Apply cards newer than the ones held; returns how many applied. New mentors are
        placed in id order (appending is cheap; a few landing earlier shift the postings)."""
        fresh = [card for card in changed_cards if (card.get("version") or 1) > self.version(card["id"])]
        if not fresh:
            return 0
        fresh.sort(key=lambda card: card["id"])
        last = self.ids[-1] if self.ids else ""
        shifts = sum(1 for card in fresh if card["id"] not in self.cards and card["id"] < last)
        if shifts > MAX_SHIFTS:
            rebuilt = Catalogue.built([self.unpack(packed) for packed in self.cards.values()] + fresh)
            self.ids, self.cards, self.postings, self._shared = rebuilt.ids, rebuilt.cards, rebuilt.postings, rebuilt._shared
            return len(fresh)
        applied = 0
        for card in fresh:
            applied += self.put(card)
        return applied

    def put(self, card):
        """Apply one card if it is newer than the one held. True if applied."""
        mentor_id = card["id"]
        held = self.cards.get(mentor_id)
        if held is not None and (card.get("version") or 1) <= held[2]:
            return False
        position = bisect.bisect_left(self.ids, mentor_id)
        if held is not None:
            self._unmark(self.unpack(held), position)
        else:
            self._open(position)
            self.ids.insert(position, mentor_id)
        packed = self._pack(card)
        self.cards[mentor_id] = packed
        if packed[3] != ERASED:
            bit = 1 << position
            for key in _keys(self.unpack(packed)):
                self.postings[key] = self.postings.get(key, 0) | bit
        return True

    def _unmark(self, card, position):
        if card["status"] == ERASED:
            return
        keep = ~(1 << position)
        for key in _keys(card):
            bits = self.postings.get(key, 0) & keep
            if bits:
                self.postings[key] = bits
            else:
                self.postings.pop(key, None)

    def _open(self, position):
        """Make room at `position`: every bit from there moves up one."""
        if position >= len(self.ids):
            return
        below = (1 << position) - 1
        for key, bits in self.postings.items():
            self.postings[key] = (bits & below) | ((bits >> position) << (position + 1))

    def visible(self, caller, joined):
        """The positions the caller may see: their own partner's mentors, and, when the caller's
        partner joined the pool, the coalition-scope mentors of joined partners. (pool.sees_card
        is the rule; this is the same rule over postings, so a page fills without reading every card.)"""
        bits = self.postings.get(("partner", caller.get("partner_id")), 0)
        if pool.caller_joined(caller, joined):
            bits |= self.postings.get(COALITION, 0) & _any_of(self.postings.get(("partner", partner), 0) for partner in joined)
        return bits

    def _starting_with(self, kind, prefix):
        return _any_of(bits for key, bits in self.postings.items() if key[0] == kind and key[1].startswith(prefix))

    def matching(self, query, caller, joined, after=None, limit=50, now=None):
        """Up to `limit` (card, "own" or "pooled") after the id `after`, in id order, that pass
        every filter of a loaded SearchQuerySchema `query` and that the caller may see."""
        now = now or utcnow()
        postings = self.postings
        bits = self.visible(caller, joined)
        if query.get("isco"):
            bits &= self._starting_with("isco", query["isco"])
        if query.get("sector"):
            bits &= self._starting_with("sector", query["sector"])
        if query.get("language"):
            levels = codes.LANGUAGE_LEVELS[codes.level_rank(query["min_level"]):] if query.get("min_level") else codes.LANGUAGE_LEVELS
            bits &= _any_of(postings.get(("language", query["language"], level), 0) for level in levels)
        if query.get("region"):
            bits &= postings.get(("region", query["region"]), 0)
        if query.get("mode"):
            bits &= postings.get(("mode", query["mode"]), 0)
        if query.get("available"):
            bits &= _any_of(postings.get(("slot", codes.SLOTS.index(slot)), 0) for slot in query["available"])
        has_capacity, eligible = query.get("has_capacity"), query.get("eligible_now")
        if has_capacity is True:
            bits &= ~postings.get(FULL, 0)
        elif has_capacity is False:
            bits &= postings.get(HELD, 0)
        if eligible is True:
            bits &= postings.get(ELIGIBLE, 0)
        elif eligible is False:
            bits &= ~(postings.get(ELIGIBLE, 0) & ~postings.get(EXPIRING, 0))

        found = []
        start = bisect.bisect_right(self.ids, after) if after else 0
        for position in _positions(bits, start):
            card = self.unpack(self.cards[self.ids[position]])
            if has_capacity is not None and (cards.places_left(card, now) > 0) != has_capacity:
                continue
            if eligible is not None and bool(cards.eligible_now(card, now)) != eligible:
                continue
            how = pool.sees_card(caller, card, joined)
            if how is None:
                continue
            found.append((card, how))
            if len(found) >= limit:
                break
        return found


class Index:
    """One service instance's catalogue, kept up to date from `mentor_changes`."""

    def __init__(self, retention=RETENTION, overlap=OVERLAP, clock=utcnow, ticks=time.monotonic):
        # clock: the wall clock change entries are stamped with; ticks: for intervals.
        self.retention, self.overlap, self.clock, self.ticks = retention, overlap, clock, ticks
        self.catalogue = None
        self._lock = threading.Lock()  # green under nameko's monkey patching
        self._watermark = None  # our clock when the last catch-up asked: the next asks from here, less the overlap
        self._followed = None  # ticks() of the same, for staleness and for sharing a catch-up
        self._loaded = None
        self._purged = None
        self._head = NEVER  # cards.head_token when the entries were last read
        # While a load reads the mentors, every change read is also kept here, for the new catalogue.
        self._recorders = []

    def fresh(self, database):
        """The catalogue, with every change that was written before this call applied."""
        asked = self.ticks()
        with self._lock:
            self._catch_up(database, asked)
            return self.catalogue

    def matching(self, database, query, caller, joined, after=None, limit=50, now=None):
        """Catch up, then search, under the lock: no change is applied halfway through a search."""
        asked = self.ticks()
        with self._lock:
            self._catch_up(database, asked)
            return self.catalogue.matching(query, caller, joined, after, limit, now)

    def reload_due(self):
        return self._loaded is None or self.ticks() - self._loaded >= RELOAD_EVERY

    def reload(self, database):
        """Read everything again into a new catalogue while searches go on with the current one
        (which keeps catching up meanwhile), then swap."""
        def follow():
            with self._lock:
                self._follow(database)

        with self._lock:
            recorder = self._recording()
        began = self.ticks()
        try:
            catalogue = self._read_all(database, follow)
        except BaseException:
            with self._lock:
                self._recorders.remove(recorder)
            raise
        with self._lock:  # one hold: no change may be read between the last one recorded and the swap
            self._recorders.remove(recorder)
            catalogue.put_all(recorder)
            self.catalogue, self._loaded = catalogue, began
            self._follow(database)

    def _catch_up(self, database, asked):
        if self._followed is not None and self._followed > asked:
            return  # a catch-up that began after this call was made has just finished
        if self.catalogue is None or self._followed is None or self.ticks() - self._followed > self.retention.total_seconds() / 2:
            # Never loaded, or so long ago that entries may have been purged unread. Searches
            # wait: the catalogue they would read is empty or may be missing changes.
            recorder = self._recording()
            began = self.ticks()
            try:
                catalogue = self._read_all(database, lambda: self._changes(database))
            finally:
                self._recorders.remove(recorder)
            catalogue.put_all(recorder)
            self.catalogue, self._loaded = catalogue, began
        self._follow(database)

    def _recording(self):
        """Start keeping every change read, from changes written now on (mentors read later may
        predate them)."""
        if self._watermark is None:
            self._watermark = self.clock()
        recorder = []
        self._recorders.append(recorder)
        return recorder

    def _read_all(self, database, follow):
        """A new catalogue of every mentor. Calls `follow` every FOLLOW_EVERY meanwhile: a full
        read can outlast RETENTION, and change entries must be read before they are purged."""
        began = last_followed = self.ticks()

        def pause():
            nonlocal last_followed
            time.sleep(0)  # lets other greenthreads run under eventlet
            if self.ticks() - last_followed >= FOLLOW_EVERY:
                follow()
                last_followed = self.ticks()

        mentors = database.mentors.find({}, SOURCE_PROJECTION, batch_size=YIELD_EVERY)
        catalogue = Catalogue.built((cards.card_of(mentor) for mentor in mentors), pause)
        log.info("mentor index: %d mentors loaded in %.2f s", len(catalogue), self.ticks() - began)
        return catalogue

    def _changes(self, database):
        """The cards of the change entries from the watermark (less the overlap) on. Skipped when
        no write has finished since the last read: FerretDB scans the whole collection for the
        entries, which after a large import costs seconds."""
        asked, asked_ticks = self.clock(), self.ticks()
        head = cards.head_token(database)  # read before the entries: a write bumps it after its entry
        if head == self._head:
            self._watermark, self._followed = asked, asked_ticks
            return []
        changed = [change["card"] for change in database.mentor_changes.find({"at": {"$gte": self._watermark - self.overlap}}, {"card": 1})]
        self._watermark, self._followed, self._head = asked, asked_ticks, head
        for recorder in self._recorders:
            recorder.extend(changed)
        return changed

    def _follow(self, database):
        self.catalogue.put_all(self._changes(database))
        if self._purged is None or self._followed - self._purged >= PURGE_EVERY:
            self._purged = self._followed
            # Any instance may purge: every instance reads the entries at least every
            # FOLLOW_EVERY, even while loading, or reloads everything.
            database.mentor_changes.delete_many({"at": {"$lt": self._watermark - self.retention}})


class MentorIndex(DependencyProvider):
    """Gives every worker of a service instance the instance's one Index, and keeps it fresh in
    the background: loaded at start, caught up every FOLLOW_EVERY, reloaded every RELOAD_EVERY."""

    def __init__(self):
        self.index = Index()
        self.client = self.database = None
        self._keeper = None

    def setup(self):
        # As MongoDatabase does: tracing before the client, so the client is traced.
        setup_service_tracing(self.container.service_name)
        self.client, self.database = connect(self.container.service_name)

    def start(self):
        self._keeper = self.container.spawn_managed_thread(self._keep_fresh, identifier="mentor_index")

    def _keep_fresh(self):
        while True:
            try:
                if self.index.catalogue is not None and self.index.reload_due():
                    self.index.reload(self.database)
                else:
                    self.index.fresh(self.database)
            except Exception:  # an error here would kill the container; the next round tries again
                log.exception("mentor index: keeping fresh failed")
            eventlet.sleep(FOLLOW_EVERY)

    def stop(self):
        if self._keeper is not None:
            self._keeper.kill()
            self._keeper = None
        if self.client is not None:
            self.client.close()
            self.client = None

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.index


def search(database, index, caller, query):
    """One page of the mentors the caller may see that pass every filter, as pooled cards."""
    query = load(SearchQuerySchema(), query or {})
    after = decode_cursor(query["cursor"])
    joined = pool.members(database)
    now = utcnow()
    found = index.matching(database, query, caller, joined, after, query["limit"] + 1, now)
    more = len(found) > query["limit"]
    found = found[:query["limit"]]
    return {
        "items": [cards.pooled_view(card, own=how == "own", now=now) for card, how in found],
        "next_cursor": encode_cursor(found[-1][0]["id"]) if more else None,
    }
