"""API keys: 192 random bits behind a visible prefix, stored only as a SHA-256 hash.

A fast hash is right here: the keys are long random secrets, not passwords, so there is
nothing to brute-force, and every request looks one up.
"""
import hashlib
import secrets

KEY_PREFIX = "cmk"
MIN_SUPPLIED_KEY_LENGTH = 32


def generate_key():
    """Returns (key, visible_prefix). The key is shown once and never stored."""
    visible = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{visible}_{secrets.token_urlsafe(24)}", f"{KEY_PREFIX}_{visible}"


def hash_key(key):
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def visible_prefix(key):
    parts = key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) == 3 and parts[0] == KEY_PREFIX:
        return f"{parts[0]}_{parts[1]}"
    return key[:6]
