"""API keys and enrolment tokens: 192 random bits behind a visible prefix, stored only as a
SHA-256 hash; and how long a key may live.

A fast hash is right here: the keys are long random secrets, not passwords, so there is
nothing to brute-force, and every request looks one up.
"""
import datetime
import hashlib
import secrets

from coalition_common.errors import ValidationFailed
from coalition_common.ids import as_stored

KEY_PREFIX = "cmk"
ENROLMENT_PREFIX = "cme"
MIN_SUPPLIED_KEY_LENGTH = 32

DEFAULT_LIFETIME = datetime.timedelta(days=90)
MAX_LIFETIME = datetime.timedelta(days=365)
ENROLMENT_LIFETIME = datetime.timedelta(hours=72)


def generate_key():
    """Returns (key, visible_prefix). The key is shown once and never stored."""
    visible = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{visible}_{secrets.token_urlsafe(24)}", f"{KEY_PREFIX}_{visible}"


def generate_enrolment_token():
    """A single-use enrolment token, shown once. Its own prefix keeps it from ever being taken
    for a key (and a key for it)."""
    return f"{ENROLMENT_PREFIX}_{secrets.token_urlsafe(24)}"


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def visible_prefix(key):
    parts = key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) == 3 and parts[0] == KEY_PREFIX:
        return f"{parts[0]}_{parts[1]}"
    return key[:6]


def _refuse(message):
    return ValidationFailed("The expiry is not allowed.", {"expires_at": [message]})


def key_expiry(requested, now, parent_expires_at=None):
    """When a new key expires: `requested` if allowed, else 90 days from now, and never after
    the key that mints it (`parent_expires_at`, None for a key without expiry or no parent).

    A request in the past, more than a year ahead, or after the parent's expiry is refused
    (422 naming `expires_at`) rather than shortened, so nobody holds a key that ends sooner than
    they were told."""
    if requested is None:
        expires_at = now + DEFAULT_LIFETIME
        if parent_expires_at is not None:
            expires_at = min(expires_at, parent_expires_at)
        return as_stored(expires_at)
    try:
        # An offset near ±24 h on 9999-12-31 overflows when converted; it is far beyond the cap anyway.
        requested = as_stored(requested.astimezone(datetime.timezone.utc))
    except (OverflowError, ValueError):
        raise _refuse("Must be within 365 days.")
    if requested <= now:
        raise _refuse("Must be in the future.")
    if requested > now + MAX_LIFETIME:
        raise _refuse("Must be within 365 days.")
    if parent_expires_at is not None and requested > parent_expires_at:
        raise _refuse("Must not be after the expiry of the key used to create it.")
    return requested


def enrolment_expiry(now, minting_key_expires_at=None):
    """72 hours, and never after the key that minted the token."""
    expires_at = now + ENROLMENT_LIFETIME
    if minting_key_expires_at is not None:
        expires_at = min(expires_at, minting_key_expires_at)
    return as_stored(expires_at)


def effective_expiry(record):
    """A stored key's expiry. Keys stored before expiry was required (none but the operator's
    bootstrap key may lack one) end a year after they were made."""
    if record.get("expires_at") is not None:
        return record["expires_at"]
    if record.get("bootstrap"):
        return None  # the operator's key from COALITION_ADMIN_KEY ends when the operator rotates it
    return record["created_at"] + MAX_LIFETIME
