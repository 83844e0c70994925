"""Identifiers and timestamps as every service stores them."""
import datetime
import secrets
import time


def new_id():
    """32 hex characters: a millisecond timestamp then 80 random bits. Ids sort in creation
    order, which makes `_id` a stable cursor for pagination."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def as_stored(moment):
    """The moment cut to milliseconds, as BSON stores it, so what is read back equals it."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def aware(moment):
    """A stored moment as aware UTC (None stays None): a client not opened tz_aware, or a
    document written in a test, hands back naive datetimes."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)
