"""RFC 9457 problem details for every error; on every response an X-Request-ID and the headers
that keep browsers and caches from doing anything with the API's answers but read them."""
import logging
import re
import traceback
import uuid

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from coalition_common.errors import CoalitionError
from gateway import bodies
from gateway.rpc import ServiceTimeout, ServiceUnavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Swagger UI's own scripts and styles: static, so they may be cached like any static file.
_STATIC_PREFIX = "/api/docs/assets/"


def problem(status, title, detail=None, errors=None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    body["instance"] = request.path
    body["request_id"] = g.get("request_id")
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _field_errors(messages):
    """webargs nests messages under the request location ("json", "query"); callers want fields."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "path", "headers", "form", "files"}:
        merged = {}
        for location_messages in messages.values():
            if isinstance(location_messages, dict):
                merged.update(location_messages)
            else:
                merged["_schema"] = location_messages
        return merged
    return messages


def from_http_exception(exc):
    data = getattr(exc, "data", None) or {}
    errors = _field_errors(data.get("messages")) if data.get("messages") else None
    detail = exc.description if isinstance(exc.description, str) else None
    if exc.code == 422 and errors:
        detail = "The request has invalid fields."
    elif exc.code == 400 and errors:
        detail = "The request body is not valid JSON."
    elif exc.code == 413 and current_app.config.get("MAX_CONTENT_LENGTH"):
        detail = f"The request body is larger than {current_app.config['MAX_CONTENT_LENGTH']} bytes."
    response = problem(exc.code or 500, exc.name, detail, errors)
    for header, value in (data.get("headers") or {}).items():
        response.headers[header] = value
    if exc.code == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def protective_headers(response):
    """Nothing the API answers is cached (answers carry new keys and personal data), sniffed
    into another content type, or framed by another site (the docs included)."""
    if not request.path.startswith(_STATIC_PREFIX):
        response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def init_app(app):
    bodies.init_app(app)

    @app.before_request
    def assign_request_id():
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        return protective_headers(response)

    @app.errorhandler(CoalitionError)
    def coalition_error(exc):
        response = problem(exc.status, exc.title, exc.detail or None, exc.errors or None)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="coalition"'
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(ServiceTimeout)
    def service_timeout(exc):
        return problem(504, "Gateway timeout", f"The {exc.service} service did not answer in time.")

    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(exc):
        response = problem(503, "Service unavailable", f"The {exc.service} service is unavailable.")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc):
        if isinstance(exc, HTTPException):
            return from_http_exception(exc)
        # Logged with its type and stack only: an error's message can quote what a person typed
        # (a duplicate email, say). The response never carries either.
        log.error("unhandled %s rid=%s\n%s", type(exc).__name__, g.get("request_id"), "".join(traceback.format_tb(exc.__traceback__)))
        return problem(500, "Internal server error", "Something went wrong; quote the request id.")
