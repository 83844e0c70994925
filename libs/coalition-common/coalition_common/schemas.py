"""Schema conventions shared by every service."""
from marshmallow import RAISE, Schema, ValidationError

from coalition_common.errors import validation_failed


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped or stored."""

    class Meta:
        unknown = RAISE


def public(document):
    """A stored document as the API shows it: `_id` becomes `id`, the outbox stays inside."""
    shown = dict(document)
    shown["id"] = shown.pop("_id")
    shown.pop("outbox", None)
    return shown


def load(schema, payload):
    """Validate a request with `schema`; a failure becomes ValidationFailed naming the fields."""
    try:
        return schema.load(payload)
    except ValidationError as err:
        raise validation_failed(err)
