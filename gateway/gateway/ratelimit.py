"""Request limits shared by every gateway process: per staff member (whichever key they use),
and per client address for requests that fail authentication, checked before the registry is
asked, so guessing keys costs the platform almost nothing.

Counts live in the gateway's own database, in one-minute windows aligned to the clock. A window
is one document whose `counts` hold one entry per gateway process, written only by that process
and always as its absolute count (`$max`), never as an increment: FerretDB 1.x applies an update
by reading the document and writing it back, so racing `$inc`s are lost for good (measured here:
44-88 % of them with 2-16 writers), while an overwritten absolute count is written again, right,
at that process's next hit. A process adds its own exact in-memory count to the others' entries,
so a lost write can only let through more, never refuse early, and never more than (number of
processes) x allowance. On MongoDB the entries are never lost.

Not the `limits` library: its MongoDB storage needs a TTL index and aggregation-pipeline
updates, and FerretDB 1.24 refuses both. Without TTL indexes, each process deletes ended windows
itself, at most once a minute. If the database does not answer, each process goes on counting
alone (per-process limits, never stricter than the shared ones) and logs one warning per outage.
"""
import contextlib
import datetime
import hashlib
import ipaddress
import logging
import math
import os
import threading
import time
import uuid

from pymongo import MongoClient, ReturnDocument
from pymongo.errors import PyMongoError

from coalition_common import config
from coalition_common.errors import CoalitionError
from coalition_common.mongo import is_duplicate_key

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
COLLECTION = "request_windows"
# After the database fails, leave it alone this long, so an outage costs one slow request per
# process every few seconds rather than a timeout on every request.
STORE_RETRY_SECONDS = 5.0
STORE_TIMEOUT_MS = 1000
PURGE_EVERY_SECONDS = 60.0
MAX_LOCAL_ENTRIES = 100_000


class RateLimited(CoalitionError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after, detail="Too many requests; slow down."):
        super().__init__(detail)
        self.retry_after = retry_after


def allowance(name, default):
    raw = os.environ.get(name, "")
    value = int(raw) if raw.strip() else default
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number of requests")
    return value


def address_subject(address):
    """What an address is counted as: an IPv6 client by its /64 (one host can hold all of it);
    stored as a digest, so the database holds no client addresses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        text = str(address)
    else:
        if ip.version == 6 and ip.ipv4_mapped:
            text = str(ip.ipv4_mapped)
        elif ip.version == 6:
            text = str(ipaddress.ip_network(f"{ip}/64", strict=False))
        else:
            text = str(ip)
    return "address:" + hashlib.sha256(text.encode()).hexdigest()[:32]


class Limits:
    def __init__(self, database=None, per_staff_per_minute=None, failed_per_address_per_minute=None, clock=time.time):
        """`database`: a pymongo Database; None connects to MONGO_URI's `<namespace>_gateway` on first use."""
        self.per_staff = per_staff_per_minute or allowance("RATE_LIMIT_PER_MINUTE", 600)
        self.failed_per_address = failed_per_address_per_minute or allowance("FAILED_AUTH_PER_MINUTE", 30)
        self.clock = clock
        self.process = uuid.uuid4().hex[:12]  # this process's entry in every window it counts in
        self._database = database
        self._collection = None
        self._store_down = False
        self._store_retry_at = 0.0
        self._next_purge = 0.0
        self._lock = threading.Lock()
        self._window_counted = None
        self._own = {}  # subject -> this process's count in the current window
        self._over = set()  # subjects known to be over their allowance in the current window
        self._under_way = {}  # address subject -> this process's key lookups waiting for the registry

    def hit_staff(self, staff_id):
        """Count one request by a staff member, whichever key they used; RateLimited past the allowance."""
        subject, window = f"staff:{staff_id}", self._window()
        own, known_over = self._add(subject, window, 1)
        if known_over or self._total(subject, window, own, store=True) > self.per_staff:
            self._refuse(subject, window, "Too many requests from your account; slow down.")

    def check_address(self, address):
        """RateLimited if `address` has used its allowance of failed authentications this minute."""
        subject, window = address_subject(address), self._window()
        own, known_over = self._add(subject, window, 0)
        if known_over or self._total(subject, window, own, store=False) >= self.failed_per_address:
            self._refuse(subject, window, "Too many failed authentications from this address; wait before retrying.")

    @contextlib.contextmanager
    def lookup(self, address):
        """One registry lookup of a key on behalf of `address`. Refused (RateLimited) when the
        address's failed authentications this minute plus the lookups already under way in this
        process reach the allowance, so a burst of concurrent guesses cannot overshoot it."""
        subject, window = address_subject(address), self._window()
        own, known_over = self._add(subject, window, 0)
        failed = self._total(subject, window, own, store=False)
        with self._lock:
            under_way = self._under_way.get(subject, 0)
            admitted = not known_over and failed + under_way < self.failed_per_address
            if admitted:
                self._under_way[subject] = under_way + 1
        if not admitted:
            self._refuse(subject, window, "Too many failed authentications from this address; wait before retrying.")
        try:
            yield
        finally:
            with self._lock:
                left = self._under_way.get(subject, 1) - 1
                if left:
                    self._under_way[subject] = left
                else:
                    self._under_way.pop(subject, None)

    def record_failed(self, address):
        """Count one failed authentication from `address`."""
        subject, window = address_subject(address), self._window()
        own, _ = self._add(subject, window, 1)
        if self._total(subject, window, own, store=True) >= self.failed_per_address:
            self._mark_over(subject, window)

    def _window(self):
        return int(self.clock() // WINDOW_SECONDS)

    def _add(self, subject, window, hits):
        """This process's count for `subject` after adding `hits`, and whether the subject is
        already known to be over its allowance (then no database round trip is needed)."""
        with self._lock:
            # A new window forgets the last. A request that read the clock just before the turn
            # counts in the new one.
            if self._window_counted is None or window > self._window_counted or len(self._own) >= MAX_LOCAL_ENTRIES:
                self._window_counted = window
                self._own = {}
                self._over = set()
            own = self._own.get(subject, 0) + hits
            if hits:
                self._own[subject] = own
            return own, subject in self._over

    def _mark_over(self, subject, window):
        with self._lock:
            if window == self._window_counted:
                self._over.add(subject)

    def _refuse(self, subject, window, detail):
        self._mark_over(subject, window)
        left = WINDOW_SECONDS - self.clock() % WINDOW_SECONDS
        raise RateLimited(retry_after=max(1, math.ceil(left)), detail=detail)

    def _total(self, subject, window, own, store):
        """Every process's count for `subject` in `window`: `own` for this one plus the others'
        stored entries, after storing `own` when `store`. Just `own` while the database is down."""
        collection = self._store()
        if collection is None:
            return own
        key = f"{subject}:{window}"
        try:
            if store:
                document = self._store_count(collection, key, own, window)
            else:
                document = collection.find_one({"_id": key}, {"counts": 1})
            self._purge(collection)
        except PyMongoError as exc:
            self._store_failed(exc)
            return own
        self._store_answered()
        counts = (document or {}).get("counts") or {}
        return own + sum(int(n) for process, n in counts.items() if process != self.process)

    def _store_count(self, collection, key, own, window):
        # No projection: FerretDB 1.24's findAndModify refuses one, and the document is small.
        update = {"$max": {f"counts.{self.process}": own}, "$setOnInsert": {"expires_at": _utc((window + 2) * WINDOW_SECONDS)}}
        try:
            return collection.find_one_and_update({"_id": key}, update, upsert=True, return_document=ReturnDocument.AFTER)
        except PyMongoError as exc:
            if not is_duplicate_key(exc):
                raise
            # Another process opened this window at the same moment and its insert won; update it.
            return collection.find_one_and_update({"_id": key}, update, return_document=ReturnDocument.AFTER)

    def _store(self):
        """The shared collection, or None while the database is failing."""
        if self.clock() < self._store_retry_at:
            return None
        if self._collection is None:
            if self._database is None:
                self._database = _connect()  # connects lazily; one client for the process's life
            try:
                self._database[COLLECTION].create_index("expires_at")
            except PyMongoError as exc:
                self._store_failed(exc)
                return None
            self._collection = self._database[COLLECTION]
        return self._collection

    def _store_failed(self, exc):
        if not self._store_down:
            log.warning("rate-limit store unavailable (%s); counting per process until it answers", type(exc).__name__)
        self._store_down = True
        self._store_retry_at = self.clock() + STORE_RETRY_SECONDS

    def _store_answered(self):
        if self._store_down:
            self._store_down = False
            log.info("rate-limit store answers again; limits are shared across processes")

    def _purge(self, collection):
        """Delete windows that have ended (FerretDB 1.24 has no TTL indexes); once a minute per process."""
        now = self.clock()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_EVERY_SECONDS
        collection.delete_many({"expires_at": {"$lt": _utc(now)}})


def _utc(timestamp):
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)


def _connect():
    """The gateway's own database, with short timeouts: a slow store must not slow every request."""
    client = MongoClient(
        config.mongo_uri(),
        serverSelectionTimeoutMS=STORE_TIMEOUT_MS,
        connectTimeoutMS=STORE_TIMEOUT_MS,
        socketTimeoutMS=STORE_TIMEOUT_MS,
        appname="gateway",
        tz_aware=True,
    )
    return client[config.database_name("gateway")]
