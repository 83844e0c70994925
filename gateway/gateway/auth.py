"""Bearer keys resolved to identities by the registry, cached briefly, limited, and checked
against the access policy per route.

A key's identity is cached for at most IDENTITY_CACHE_SECONDS (30 s at most), and every cached
identity is dropped the moment the registry announces a lock-out (a revoked key, erased or
demoted staff, a suspended partner) on its fanout exchange. While this process is not subscribed
to those announcements, it does not use its cache at all.
"""
import datetime
import functools
import hashlib
import os
import threading
import time

from flask import current_app, g, request

from coalition_common import policy
from coalition_common.errors import Unauthenticated

MAX_IDENTITY_TTL = 30.0


def identity_ttl():
    return min(float(os.environ.get("IDENTITY_CACHE_SECONDS", MAX_IDENTITY_TTL)), MAX_IDENTITY_TTL)


class IdentityCache:
    def __init__(self, ttl=None, max_entries=10000):
        self.ttl = identity_ttl() if ttl is None else ttl
        self.max_entries = max_entries
        self._entries = {}
        self._lock = threading.Lock()
        # Counts lock-outs, so a lookup that started before one is not cached after it.
        self.generation = 0
        # Set by the lock-out watcher; None means no watcher (tests, CLI), and the TTL alone bounds staleness.
        self.watcher = None

    def trusted(self):
        return self.watcher is None or self.watcher.subscribed

    def get(self, digest):
        if not self.trusted():
            return None
        with self._lock:
            entry = self._entries.get(digest)
            if entry and entry[0] > time.monotonic():
                return entry[1]
            self._entries.pop(digest, None)
            return None

    def put(self, digest, identity, generation):
        """Cache an identity resolved since `generation` was read, unless a lock-out came between:
        the registry may have answered from before it."""
        ttl = self.ttl
        if identity.get("expires_at"):
            left = datetime.datetime.fromisoformat(identity["expires_at"]) - datetime.datetime.now(datetime.timezone.utc)
            ttl = min(ttl, max(left.total_seconds(), 0.0))
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + ttl, identity)

    def clear(self, announcement=None):
        """Any lock-out drops every cached identity: they are rare, and re-resolving is cheap."""
        with self._lock:
            self.generation += 1
            self._entries.clear()


def bearer_key():
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthenticated("Send an API key as 'Authorization: Bearer <key>'.")
    return key.strip()


def client_address():
    return request.remote_addr or "unknown"


def current_identity():
    """The caller's identity, or Unauthenticated. Only a digest of the key is kept in memory.
    An address that keeps failing is refused before any registry call is made."""
    if "identity" in g:
        return g.identity
    limits = current_app.extensions["limits"]
    address = client_address()
    try:
        key = bearer_key()
    except Unauthenticated:
        limits.check_address(address)
        limits.record_failed(address)
        raise
    digest = hashlib.sha256(key.encode()).hexdigest()
    cache = current_app.extensions["identity_cache"]
    identity = cache.get(digest)
    if identity is None:
        generation = cache.generation
        with limits.lookup(address):
            try:
                identity = current_app.extensions["rpc"].call("registry", "authenticate", key)
            except Unauthenticated:
                limits.record_failed(address)
                raise
        cache.put(digest, identity, generation)
    limits.hit_staff(identity["staff_id"])
    g.identity = identity
    return identity


def allowed(action):
    """Function-level authorisation from the access policy: the caller must hold one of the
    action's roles. Checked before the request body is read, so a wrong role learns nothing
    from validation errors. The service checks the same rule again."""
    entry = policy.rule(action)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            policy.authorize(current_identity(), action)
            return view(*args, **kwargs)

        wrapper.action = action
        wrapper.allowed_roles = entry.roles
        return wrapper

    return decorate
