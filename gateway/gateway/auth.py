"""Bearer keys resolved to identities by the registry, cached briefly, and rate-limited per key.

A key's identity is cached for at most IDENTITY_CACHE_SECONDS (30 s at most), so a revoked key
or a suspended partner is refused within that time without a registry call on every request.
"""
import datetime
import functools
import hashlib
import os
import threading
import time

from flask import current_app, g, request

from coalition_common.errors import CoalitionError, Forbidden, Unauthenticated

MAX_IDENTITY_TTL = 30.0
ROLES = ("coalition_admin", "partner_admin", "coordinator", "recruiter", "analyst")
ANY_ROLE = ROLES


def identity_ttl():
    return min(float(os.environ.get("IDENTITY_CACHE_SECONDS", MAX_IDENTITY_TTL)), MAX_IDENTITY_TTL)


class RateLimited(CoalitionError):
    status = 429
    title = "Too many requests"

    def __init__(self, retry_after):
        super().__init__("This key has made too many requests; slow down.")
        self.retry_after = retry_after


class IdentityCache:
    def __init__(self, ttl=None, max_entries=10000):
        self.ttl = identity_ttl() if ttl is None else ttl
        self.max_entries = max_entries
        self._entries = {}
        self._lock = threading.Lock()

    def get(self, digest):
        with self._lock:
            entry = self._entries.get(digest)
            if entry and entry[0] > time.monotonic():
                return entry[1]
            self._entries.pop(digest, None)
            return None

    def put(self, digest, identity):
        ttl = self.ttl
        if identity.get("expires_at"):
            left = datetime.datetime.fromisoformat(identity["expires_at"]) - datetime.datetime.now(datetime.timezone.utc)
            ttl = min(ttl, max(left.total_seconds(), 0.0))
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + ttl, identity)


class RateLimiter:
    """Fixed one-minute windows per key. Counts are per gateway process: with N processes a key
    gets up to N times the limit, which is the price of not sharing state between them."""

    def __init__(self, per_minute=None):
        self.per_minute = int(per_minute if per_minute is not None else os.environ.get("RATE_LIMIT_PER_MINUTE", "600"))
        self._windows = {}
        self._lock = threading.Lock()

    def hit(self, digest):
        now = time.monotonic()
        window = int(now // 60)
        with self._lock:
            start, count = self._windows.get(digest, (window, 0))
            if start != window:
                count = 0
                if len(self._windows) > 10000:
                    self._windows.clear()
            count += 1
            self._windows[digest] = (window, count)
        if count > self.per_minute:
            raise RateLimited(retry_after=max(1, int(60 - now % 60)))


def bearer_key():
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
    return key.strip()


def current_identity():
    """The caller's identity, or Unauthenticated. Only a digest of the key is kept in memory."""
    if "identity" in g:
        return g.identity
    key = bearer_key()
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache = current_app.extensions["identity_cache"]
    identity = cache.get(digest)
    if identity is None:
        identity = current_app.extensions["rpc"].call("registry", "authenticate", key)
        cache.put(digest, identity)
    current_app.extensions["rate_limiter"].hit(digest)
    g.identity = identity
    return identity


def requires_roles(*roles):
    """Function-level authorisation: the caller must hold one of `roles`. Checked before the
    request body is read, so a wrong role learns nothing from validation errors."""
    if not roles:
        raise ValueError("name the roles an endpoint allows")

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            identity = current_identity()
            if not set(roles) & set(identity["roles"]):
                raise Forbidden("Your role does not allow this.")
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorate
