"""Request bodies, checked where they are first read.

flask-smorest's arguments come from webargs, whose Flask parser reads `request.get_data()` and
runs the standard library's `json.loads` on it: neither Flask's JSON provider nor
`request.get_json()` is involved. So the check sits in `get_data` itself, by way of the app's
request class, and covers webargs and `get_json` alike. It runs when a view first reads the
body, which is after authentication and the role check: a caller who may not act is refused
before their body is looked at.

What Python's JSON parser would accept but the platform cannot take, each answered as a
problem (never a 500): a body over MAX_CONTENT_LENGTH (413, from werkzeug), bytes that are not
UTF-8, nesting deeper than MAX_DEPTH (json.loads would recurse until RecursionError), integers
longer than MAX_INTEGER_DIGITS (past 4300 digits int() raises ValueError), NaN and Infinity
(not JSON), and lone UTF-16 surrogates from `\\ud800`-style escapes (BSON cannot store them).
"""
import json
import math
import re

from flask import Request
from werkzeug.exceptions import BadRequest, UnprocessableEntity

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 20

# Once escaped backslashes and escaped quotes are gone, a JSON string is a quote, anything but a
# quote, and a quote: a pattern that never backtracks, so a hostile body costs linear time.
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_CONTAINER = re.compile(r"\[\]|\{\}")


class BodyRefused(BadRequest):
    """A JSON body refused before parsing finished; the description names the limit."""


class _Refused(Exception):
    """Raised from inside json.loads hooks; becomes BodyRefused."""


def nesting_depth(text, limit=MAX_DEPTH):
    """How deeply arrays and objects nest in JSON `text`, counting no further than limit + 1.
    Each round removes the containers that are empty by then, so the rounds are the depth."""
    structure = _STRING.sub("", text.replace("\\\\", "").replace('\\"', ""))
    brackets = _NOT_BRACKET.sub("", structure)
    depth = 0
    while brackets and depth <= limit:
        emptied = _EMPTY_CONTAINER.sub("", brackets)
        if emptied == brackets:
            break  # unmatched brackets: not JSON, and json.loads stops at them
        brackets, depth = emptied, depth + 1
    return depth


def _whole(digits):
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"Integers in the body have at most {MAX_INTEGER_DIGITS} digits.")
    return int(digits)


def _finite(number):
    value = float(number)
    if not math.isfinite(value):
        raise _Refused("Numbers in the body must be finite.")
    return value


def _constant(name):
    raise _Refused("NaN and Infinity are not JSON.")


def _surrogate_path(value, path=()):
    """Where in the parsed body a lone surrogate sits: a tuple of keys and indexes, or None."""
    if isinstance(value, str):
        return path if _has_surrogate(value) else None
    if isinstance(value, list):
        items = enumerate(value)
    elif isinstance(value, dict):
        for key in value:
            if _has_surrogate(key):
                return path + ("<a field name>",)
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _surrogate_path(item, path + (key,))
        if found is not None:
            return found
    return None


def _has_surrogate(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def check_json(data):
    """Refuse a JSON body the platform cannot take (see the module's docstring). Returns None;
    raises BodyRefused (400) or UnprocessableEntity (422, naming the field)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused("The request body is not valid UTF-8.") from None
    if nesting_depth(text) > MAX_DEPTH:
        raise BodyRefused(f"The JSON body nests arrays and objects deeper than {MAX_DEPTH} levels.")
    try:
        parsed = json.loads(text, parse_int=_whole, parse_float=_finite, parse_constant=_constant)
    except _Refused as refusal:
        raise BodyRefused(str(refusal)) from None
    except RecursionError:  # malformed, but nested deep enough to exhaust the parser's stack
        raise BodyRefused(f"The JSON body nests arrays and objects deeper than {MAX_DEPTH} levels.") from None
    except ValueError:
        return  # not JSON at all: the parser that reads it next answers 400 for that
    if not _has_surrogate(json.dumps(parsed, ensure_ascii=False)):
        return
    path = _surrogate_path(parsed)
    field = ".".join(str(part) for part in path) if path else "_schema"
    error = UnprocessableEntity("The request has invalid fields.")
    error.data = {"messages": {field: ["Must not contain lone UTF-16 surrogates."]}}
    raise error


class CheckedRequest(Request):
    """Flask's request, whose JSON body is checked by check_json when first read."""

    _body_checked = False

    def get_data(self, cache=True, as_text=False, parse_form_data=False):
        data = super().get_data(cache=True, as_text=False, parse_form_data=parse_form_data)
        if not self._body_checked and self.is_json and data:
            check_json(data)
            self._body_checked = True
        return data.decode(errors="replace") if as_text else data


def init_app(app):
    app.request_class = CheckedRequest
