"""Bearer keys resolved to identities by the registry, cached briefly.

A key's identity is cached for at most IDENTITY_TTL seconds, so a revoked key or a suspended
partner is refused within that time without a registry call on every request.
"""
import functools
import hashlib
import threading
import time

from flask import current_app, g, request

from coalition_common.errors import Forbidden, Unauthenticated

IDENTITY_TTL = 30.0


class IdentityCache:
    def __init__(self, ttl=IDENTITY_TTL, max_entries=10000):
        self.ttl = ttl
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
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[digest] = (time.monotonic() + self.ttl, identity)


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
    g.identity = identity
    return identity


def requires_roles(*roles):
    """Function-level authorisation: the caller must hold one of `roles` (any role if none given)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            identity = current_identity()
            if roles and not set(roles) & set(identity["roles"]):
                raise Forbidden("Your role does not allow this.")
            return view(*args, **kwargs)

        wrapper.allowed_roles = roles
        return wrapper

    return decorate
