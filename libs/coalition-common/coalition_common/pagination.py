"""Cursor pagination over `_id` (ids sort in creation order): stable under inserts, no skips."""
import base64
import json
import re

from coalition_common.errors import ValidationFailed

MAX_PAGE = 200
DEFAULT_PAGE = 50


def decode_cursor(cursor, id_pattern="[0-9a-f]{32}"):
    if not cursor:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))["after"]
        # Only an id this API could have given out: anything else (a lone surrogate, say) never
        # reaches the database.
        if not isinstance(after, str) or not re.fullmatch(id_pattern, after):
            raise ValueError
        return after
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise ValidationFailed("The cursor is not one this API gave out.", {"cursor": ["Invalid cursor."]})


def encode_cursor(last_id):
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def page(collection, query, cursor=None, limit=DEFAULT_PAGE, projection=None, id_pattern="[0-9a-f]{32}"):
    """One page of documents matching `query`: (documents, next_cursor or None). `id_pattern`:
    the ids of the collection, for collections whose ids are not plain new_id()s."""
    if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit is out of range.", {"limit": [f"Must be between 1 and {MAX_PAGE}."]})
    after = decode_cursor(cursor, id_pattern)
    if after is not None:
        query = {"$and": [query, {"_id": {"$gt": after}}]}
    documents = list(collection.find(query, projection).sort("_id", 1).limit(limit + 1))
    more = len(documents) > limit
    documents = documents[:limit]
    return documents, (encode_cursor(documents[-1]["_id"]) if more else None)
