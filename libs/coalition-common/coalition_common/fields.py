"""The one definition of the text, number, time and id fields every schema uses.

Whatever a caller sends is stored as these fields leave it, so each refuses what cannot be
stored or shown safely: lone UTF-16 surrogates (BSON cannot encode them), control characters,
invisible formatting characters, look-alike names, numbers that are not whole, and date-times
that overflow on conversion. Error messages name the rule, never the value that broke it.
"""
import datetime
import re
import unicodedata

from marshmallow import ValidationError, fields, validate

UTC = datetime.UTC

# Integers a JSON client in any language reads exactly (2**53 - 1).
SAFE_INTEGER = 9_007_199_254_740_991
FIRST_YEAR, LAST_YEAR = 2000, 2100

_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_CONTROL = re.compile("[\x00-\x1f\x7f]")
_ASCII_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
# Patterns as OpenAPI documents them (ECMA syntax); values are matched whole with fullmatch.
ID_PATTERN = "^[0-9a-f]{32}$"
_ID = re.compile("[0-9a-f]{32}")
_DAY = re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}")

ZWNJ, ZWJ = "\u200c", "\u200d"
# Scripts whose letters join, where a zero-width non-joiner changes how a word looks.
_JOINING_SCRIPTS = frozenset({"ARABIC", "SYRIAC", "NKO", "MONGOLIAN", "MANDAIC", "ADLAM"})
# Letters and marks that show nothing: a name made of them, or with them, looks like another.
_INVISIBLE_IN_NAMES = frozenset(
    ["\u034f", "\u115f", "\u1160", "\u17b4", "\u17b5", "\u180b", "\u180c", "\u180d", "\u180f", "\u2800", "\u3164", "\uffa0"]
    + [chr(c) for c in range(0xFE00, 0xFE10)]
    + [chr(c) for c in range(0xE0100, 0xE01F0)]
)
# Scripts that are written together within one word (Unicode TS 39, "highly restrictive").
_SCRIPTS_WRITTEN_TOGETHER = (
    frozenset({"HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"HAN", "HANGUL"}),
    frozenset({"HAN", "BOPOMOFO"}),
)


def _script(letter):
    """A letter's script, from its Unicode name ("GREEK CAPITAL LETTER NU" is Greek). Letters of
    one script share the first word of their names; the few that do not are mapped here."""
    word = unicodedata.name(letter, "").split(" ", 1)[0]
    return {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}.get(word, word)


def _joiner_allowed(text, index):
    """Zero-width joiners are invisible except where a script needs them (the CONTEXTJ rules of
    RFC 5892): after a virama, and a non-joiner between letters of a joining script (Persian
    words need it)."""
    before = text[index - 1] if index > 0 else ""
    after = text[index + 1] if index + 1 < len(text) else ""
    if before and unicodedata.combining(before) == 9:
        return True
    return (
        text[index] == ZWNJ
        and before.isalpha() and after.isalpha()
        and _script(before) == _script(after) and _script(before) in _JOINING_SCRIPTS
    )


def text_problem(text, multiline=False):
    """Which rule `text` breaks: "surrogate", "control", "invisible" or None."""
    if _SURROGATE.search(text):
        return "surrogate"
    if text.isascii():
        controls = _ASCII_CONTROL_MULTILINE if multiline else _ASCII_CONTROL
        return "control" if controls.search(text) else None
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if category == "Cc" and not (multiline and char in "\n\t"):
            return "control"
        if category in ("Zl", "Zp"):
            return "control"
        if category == "Cf" and not (char in (ZWNJ, ZWJ) and _joiner_allowed(text, index)):
            return "invisible"
    return None


def caseless(text):
    """The key under which two texts are the same regardless of case (Unicode caseless matching:
    NFKC, case-folded, NFKC again, since case-folding can undo the normalisation)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())


def mixes_scripts(word):
    """True when one word has letters of several scripts, such as a Greek capital Nu in a Latin
    word, except scripts that are written together (Japanese, Korean, Chinese with Bopomofo)."""
    scripts = {_script(char) for char in word if unicodedata.category(char) in ("Lu", "Ll", "Lt", "Lo")}
    return len(scripts) > 1 and not any(scripts <= together for together in _SCRIPTS_WRITTEN_TOGETHER)


def _documented(kwargs, **properties):
    """kwargs with OpenAPI `properties` added to the field's metadata (apispec copies them)."""
    return dict(kwargs, metadata={**properties, **kwargs.get("metadata", {})})


def _validators(validate_argument):
    if validate_argument is None:
        return []
    return list(validate_argument) if isinstance(validate_argument, (list, tuple)) else [validate_argument]


class Text(fields.String):
    """A string as stored: surrounding whitespace stripped, NFC, never blank, no lone surrogates,
    no control characters (newlines and tabs only with `multiline=True`, CRLF becoming LF), no
    invisible formatting characters. `min` and `max` bound its length as stored."""

    default_error_messages = {
        "invalid": "Not a string.",
        "blank": "Must not be blank.",
        "surrogate": "Must not contain lone UTF-16 surrogates.",
        "control": "Must not contain control characters or line breaks.",
        "control_multiline": "Must not contain control characters other than newlines and tabs.",
        "invisible": "Must not contain invisible formatting characters (zero-width and direction marks).",
    }

    def __init__(self, *, min=None, max=None, multiline=False, **kwargs):
        validators = _validators(kwargs.pop("validate", None))
        self.length = validate.Length(min=min, max=max) if min is not None or max is not None else None
        if self.length:
            validators.insert(0, self.length)
        super().__init__(validate=validators, **kwargs)
        self.multiline = multiline

    def normalised(self, text):
        """`text` as stored; it is already stripped and free of what Text refuses."""
        return unicodedata.normalize("NFC", text)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        if _SURROGATE.search(value):  # before anything that might trip over them
            raise self.make_error("surrogate")
        text = value.strip()
        if self.multiline:
            text = text.replace("\r\n", "\n")  # as browsers send a textarea's line breaks
        if self.length and self.length.max is not None and len(text) > 4 * self.length.max + 64:
            self.length(text)  # far too long: refused before its characters are scanned
        problem = text_problem(text, self.multiline)
        if problem == "control" and self.multiline:
            problem = "control_multiline"
        if problem:
            raise self.make_error(problem)
        text = self.normalised(text)
        if not text:
            raise self.make_error("blank")
        if self.length:
            self.length(text)
        return self.checked(text)

    def checked(self, text):
        """More rules for subclasses; `text` is normalised and free of what Text refuses."""
        return text


class Name(Text):
    """A name people tell apart by looking: NFKC-normalised, inner whitespace collapsed to single
    spaces, at least one letter or digit, no invisible letters, and no word mixing scripts."""

    default_error_messages = {
        "mixed_scripts": "Must not mix scripts within a word (look-alike letters).",
        "no_letters": "Must contain a letter or digit.",
        "invisible": "Must not contain invisible characters.",
    }

    def normalised(self, text):
        return " ".join(unicodedata.normalize("NFKC", text).split())

    def checked(self, text):
        if any(char in _INVISIBLE_IN_NAMES for char in text):
            raise self.make_error("invisible")
        if not any(unicodedata.category(char)[0] in "LN" for char in text):
            raise self.make_error("no_letters")
        if any(mixes_scripts(word) for word in text.split(" ")):
            raise self.make_error("mixed_scripts")
        return text


class Email(Text):
    """An email address, NFKC-normalised, stripped and stored lower-cased, so one address has
    one spelling."""

    def __init__(self, *, max=254, **kwargs):
        validators = _validators(kwargs.pop("validate", None))
        email = validate.Email(error="Not a valid email address.")
        super().__init__(max=max, validate=[email, *validators], **_documented(kwargs, format="email"))

    def normalised(self, text):
        return unicodedata.normalize("NFKC", text).strip().lower()


class Url(Text):
    """An absolute URL with one of `schemes`."""

    def __init__(self, *, schemes=("https",), require_tld=True, max=2000, **kwargs):
        validators = _validators(kwargs.pop("validate", None))
        url = validate.URL(schemes=set(schemes), require_tld=require_tld, error="Not a valid URL.")
        super().__init__(max=max, validate=[url, *validators], **_documented(kwargs, format="uri"))


class Phone(Text):
    """A telephone number in international (E.164) form: + then 7 to 15 digits."""

    PATTERN = re.compile(r"^\+[1-9][0-9]{6,14}$")

    def __init__(self, **kwargs):
        validators = _validators(kwargs.pop("validate", None))
        number = validate.Regexp(self.PATTERN, error="Not an international number (+ then 7 to 15 digits).")
        super().__init__(validate=[number, *validators], **kwargs)


class Choice(fields.String):
    """One of a fixed set of strings."""

    def __init__(self, choices, **kwargs):
        self.choices = tuple(choices)
        validators = [validate.OneOf(self.choices), *_validators(kwargs.pop("validate", None))]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class Id(fields.String):
    """One of our ids: 32 lower-case hex characters (coalition_common.ids.new_id)."""

    default_error_messages = {"invalid": "Not an id."}

    def __init__(self, **kwargs):
        validators = [validate.Regexp(ID_PATTERN, error="Not an id."), *_validators(kwargs.pop("validate", None))]
        super().__init__(validate=validators, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _ID.fullmatch(value):  # "$" would let a final newline through
            raise self.make_error("invalid")
        return value


class Whole(fields.Integer):
    """A whole number, strictly: 3.5, 4.0, "4", true and false are refused, not converted.
    Always within ±(2**53 - 1), inside `min` and `max` when given."""

    default_error_messages = {"invalid": "Must be a whole number."}

    def __init__(self, *, min=None, max=None, **kwargs):
        low = -SAFE_INTEGER if min is None else min
        high = SAFE_INTEGER if max is None else max
        validators = [validate.Range(min=low, max=high), *_validators(kwargs.pop("validate", None))]
        super().__init__(strict=True, validate=validators, **kwargs)

    def _validated(self, value):
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _utc(moment):
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Moment(fields.DateTime):
    """An ISO 8601 date-time with a UTC offset, converted to UTC, in the years 2000 to 2100.
    Shown as ISO 8601 in UTC; a value already shown that way (passed on from a service) is
    shown again unchanged."""

    default_error_messages = {
        "invalid": "Not an ISO 8601 date-time.",
        "naive": "Must include a UTC offset (e.g. Z or +02:00).",
        "range": f"Must be in the years {FIRST_YEAR} to {LAST_YEAR}.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise self.make_error("invalid")
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if moment.utcoffset() is None:
            raise self.make_error("naive")
        # The local year is checked first: converting 9999-12-31T23:59:59-23:59 would overflow.
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise self.make_error("range")
        moment = moment.astimezone(UTC)
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            raise self.make_error("range")
        return moment

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.datetime.fromisoformat(value)
        return _utc(value).isoformat()


class Day(fields.Date):
    """A calendar date as YYYY-MM-DD, in the years 2000 to 2100."""

    default_error_messages = {
        "invalid": "Not a date as YYYY-MM-DD.",
        "range": f"Must be in the years {FIRST_YEAR} to {LAST_YEAR}.",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise self.make_error("invalid")
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise self.make_error("range")
        return day

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, datetime.datetime):
            value = value.date()
        return value if isinstance(value, str) else value.isoformat()


def unique(key=None, error="Must not repeat an item."):
    """A list validator: no item twice (compared by `key(item)` when given)."""

    def validator(items):
        seen = set()
        for item in items:
            marker = key(item) if key else item
            if marker in seen:
                raise ValidationError(error)
            seen.add(marker)

    return validator


class UniqueList(fields.List):
    """A list without duplicates; `key` picks what makes two items the same (for nested
    objects), `min` and `max` bound its length."""

    def __init__(self, inner, *, key=None, min=None, max=None, **kwargs):
        validators = _validators(kwargs.pop("validate", None))
        if min is not None or max is not None:
            validators.insert(0, validate.Length(min=min, max=max))
        validators.append(unique(key))
        super().__init__(inner, validate=validators, **_documented(kwargs, uniqueItems=True))


class Flag(fields.Boolean):
    """true or false, strictly: "yes", 1 and "true" are refused, not converted."""

    default_error_messages = {"invalid": "Must be true or false."}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value
