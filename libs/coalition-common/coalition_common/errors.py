"""Errors that cross the RPC boundary as themselves, and their HTTP meaning.

Services raise these; nameko serialises them, and because they are registered with
`deserialize_to_instance` the gateway gets the same class back, with its arguments, instead of
a bare RemoteError. Messages name fields and rules, never the values a person typed.
"""
from nameko.exceptions import deserialize_to_instance


class CoalitionError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail="", errors=None):
        super().__init__(detail, errors or {})
        self.detail = detail
        self.errors = errors or {}


@deserialize_to_instance
class NotFound(CoalitionError):
    status = 404
    title = "Not found"


@deserialize_to_instance
class ValidationFailed(CoalitionError):
    """`errors` maps each field at fault to its messages, as marshmallow reports them."""

    status = 422
    title = "Validation failed"


@deserialize_to_instance
class Conflict(CoalitionError):
    status = 409
    title = "Conflict"


@deserialize_to_instance
class Unauthenticated(CoalitionError):
    status = 401
    title = "Unauthenticated"


@deserialize_to_instance
class Forbidden(CoalitionError):
    status = 403
    title = "Forbidden"


@deserialize_to_instance
class PreconditionFailed(CoalitionError):
    """The caller sent the version it last read (If-Match) and the stored one differs."""

    status = 412
    title = "Precondition failed"


# Raised by entrypoints on purpose; listed as expected so they are not logged as crashes.
EXPECTED = (NotFound, ValidationFailed, Conflict, Unauthenticated, Forbidden, PreconditionFailed)


def validation_failed(marshmallow_error):
    """Turn a marshmallow ValidationError into ValidationFailed, keeping only field messages."""
    messages = marshmallow_error.messages
    if not isinstance(messages, dict):
        messages = {"_schema": messages}
    return ValidationFailed("The request has invalid fields.", messages)
