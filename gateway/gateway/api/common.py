"""Pieces every API blueprint uses: calling a service as the caller, pages, problem details."""
import datetime
import functools
import re

from flask import current_app, request
from marshmallow import Schema, fields, validate

from coalition_common.errors import PreconditionFailed
from coalition_common.pagination import DEFAULT_PAGE, MAX_PAGE
from coalition_common.schemas import StrictSchema
from gateway.auth import current_identity

def to_wire(value):
    """Loaded request fields back to JSON types for RPC: dates travel as ISO 8601 strings."""
    if isinstance(value, dict):
        return {key: to_wire(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_wire(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def as_caller(service, method, *args, timeout=None):
    """Call `service.method(*args)` as the caller: their identity travels signed in the context
    headers, and the service applies the policy's tenancy rule to it. `timeout` (seconds) replaces
    the usual RPC timeout for the few calls that take longer."""
    return current_app.extensions["rpc"].call(service, method, *to_wire(list(args)), identity=current_identity(), timeout=timeout)


def expected_version():
    """The version a PATCH was based on, from `If-Match: "<version>"`; None when not sent."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    if not re.fullmatch("[0-9]{1,12}", tag):  # ASCII digits only: str.isdigit() takes "²"
        raise PreconditionFailed("If-Match must be an ETag this API gave out.", {"If-Match": ["Not an ETag of ours."]})
    return int(tag)


def versioned(document):
    """A response with the document's version as its ETag, for a later If-Match."""
    return document, {"ETag": f'"{document["version"]}"'}


class PageQuery(StrictSchema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=DEFAULT_PAGE, validate=validate.Range(min=1, max=MAX_PAGE))


@functools.cache
def page_of(item_schema):
    """A list response: `items` and the `next_cursor` to pass back for the next page (null at the end)."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}Page",
        (Schema,),
        {"items": fields.List(fields.Nested(item_schema)), "next_cursor": fields.String(allow_none=True)},
    )


class Problem(Schema):
    """RFC 9457 problem details; `errors` maps each field at fault to its messages."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    request_id = fields.String()
    errors = fields.Dict()
