"""CSV files people fill in a spreadsheet: the one definition of how a cell becomes a field's
value, how a header is read, how faults are reported, and how an export keeps a spreadsheet from
running a cell as a formula. Each service's column list (mentor_bank.csvcolumns,
matching.mentee_columns) describes its own columns with `Column` and uses these.

Cells:
- Empty means "not given": the field's default.
- Lists hold their items separated by `;`: `2221;2222`. Languages are `code:level` items:
  `en:C1;fr:native`. A nested object (kind "object") holds `name=value` items: `version=2026-1;
  given_at=2026-09-01T09:00:00+00:00`.
- Booleans are `true` or `false` (any case); whole numbers are digits.

Exports neutralise formula injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return (or their full-width forms, which some spreadsheets also evaluate) gets a
leading `'`, so a spreadsheet shows it as text; an import removes such a quote again.

Files are UTF-8; a leading byte order mark is allowed. The delimiter is a comma, or a semicolon
when the header has more of them (spreadsheets in many European locales save so).
"""
import csv
import io
import re
from dataclasses import dataclass

from marshmallow import fields
from nameko.exceptions import deserialize_to_instance

from coalition_common.errors import ValidationFailed
from coalition_common.schemas import StrictSchema

SEPARATOR = ";"
BOM = "\ufeff"
# Stored and shown at most; a file wrong in every cell would otherwise make an answer of megabytes.
MAX_FAULTS = 1000

# What a spreadsheet may evaluate when a cell starts with it (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# What an export quotes: formula characters, "|" (DDE), and a quote itself, so that the import
# taking one quote off gives back exactly what was stored.
QUOTED_STARTS = FORMULA_STARTS + ("|", "'")


@deserialize_to_instance
class TooLarge(ValidationFailed):
    """A file over the size or row limit: 413. A ValidationFailed, so services treat it as an
    expected refusal; registered for RPC, so the gateway gets it back as itself."""

    status = 413
    title = "Content too large"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, whole, flag, list, languages, object
    help: str
    example: str


# Columns of the fields mentor and mentee files share, worded once; each file gives its own example.
def phone_column(example):
    return Column("phone", "text", "International format: + then 7 to 15 digits.", example)


def years_column(example):
    return Column("years_experience", "whole", "Required: 0 to 60.", example)


def languages_column(example):
    return Column("languages", "languages", "Required: ISO 639-1 code and CEFR level (A1 to C2, or native) as code:level, `;` "
                  "between them.", example)


def region_column(example="CA-ON"):
    return Column("region", "text", "Required: ISO 3166-2 subdivision.", example)


def city_column(example="Toronto"):
    return Column("city", "text", "City.", example)


def modes_column(example):
    return Column("modes", "list", "Required: in_person, virtual, hybrid; `;` between them.", example)


def availability_column(example="tue_evening;sat_morning"):
    return Column("availability", "list", "Weekly slots mon_morning to sun_evening, `;` between them.", example)


_WHOLE = re.compile(r"[0-9]{1,9}")


class CellFault(Exception):
    """A cell that cannot become a field's value; the message never quotes the cell."""


def restored(cell):
    """A cell as the import reads it: the quote an export put before a formula character goes."""
    if cell.startswith("'") and cell[1:].startswith(QUOTED_STARTS):
        return cell[1:]
    return cell


def _items(cell):
    return [item.strip() for item in cell.split(SEPARATOR) if item.strip()]


def _language(item):
    code, colon, level = item.partition(":")
    if not colon:
        raise CellFault("Languages as code:level, `;` between them (e.g. en:C1;fr:native).")
    level = level.strip()
    return {"code": code.strip().lower(), "level": "native" if level.lower() == "native" else level.upper()}


def _member(item):
    name, equals, value = item.partition("=")
    if not equals or not name.strip():
        raise CellFault("Items as name=value, `;` between them.")
    return name.strip(), value.strip()


def cell_value(column, cell):
    """The JSON value of a non-empty cell for `column`, or CellFault."""
    if column.kind == "text":
        return cell
    if column.kind == "whole":
        if not _WHOLE.fullmatch(cell.strip()):
            raise CellFault("Must be a whole number.")
        return int(cell.strip())
    if column.kind == "flag":
        word = cell.strip().lower()
        if word not in ("true", "false"):
            raise CellFault("Must be true or false.")
        return word == "true"
    if column.kind == "list":
        return _items(cell)
    if column.kind == "languages":
        return [_language(item) for item in _items(cell)]
    if column.kind == "object":
        members = [_member(item) for item in _items(cell)]
        if len({name for name, _ in members}) != len(members):
            raise CellFault("A name appears twice.")
        return dict(members)
    raise AssertionError(column.kind)


def flattened(messages, prefix=""):
    """marshmallow's nested messages as plain sentences: {0: {"level": [m]}} -> "item 1, level: m"."""
    if isinstance(messages, str):
        return [f"{prefix}{messages}"]
    if isinstance(messages, list):
        return [text for message in messages for text in flattened(message, prefix)]
    found = []
    for key, nested in messages.items():
        label = f"item {key + 1}" if isinstance(key, int) else str(key)
        found += flattened(nested, f"{prefix}{label}: ")
    return found


def schema_faults(messages, names):
    """A schema's load errors as (column, message) pairs, in the order of `names` (the columns)."""
    faults = []
    for name, nested in messages.items():
        column = name if name in names else "row"
        faults += [(column, text) for text in flattened(nested)]
    order = {name: index for index, name in enumerate(names)}
    return sorted(faults, key=lambda fault: order.get(fault[0], len(order)))


class Header:
    """The header row: which column each position holds; faults if it is not usable."""

    def __init__(self, cells, columns, required):
        by_name = {column.name: column for column in columns}
        self.positions = []
        self.faults = []
        seen = set()
        for index, cell in enumerate(cells, start=1):
            name = cell.strip().lower()
            if name in by_name and name not in seen:
                seen.add(name)
                self.positions.append(by_name[name])
            elif name in seen:
                self.faults.append((name, "The column appears twice."))
                self.positions.append(None)
            elif name:
                # Named by position only: a file without a header would show a person's data here.
                self.faults.append((f"column {index}", "Not a known column; the template lists them."))
                self.positions.append(None)
            else:
                self.positions.append(None)  # an unnamed column must stay empty (see row_fields)
        self.faults += [(name, "Missing column (required).") for name in required if name not in seen]

    def row_fields(self, cells):
        """(fields for the schema, [(column, message)]) of one data row."""
        given, faults = {}, []
        for index, cell in enumerate(cells):
            if index >= len(self.positions) or self.positions[index] is None:
                if cell.strip():
                    faults.append((f"column {index + 1}", "A cell outside the named columns."))
                continue
            column = self.positions[index]
            cell = restored(cell)
            if not cell.strip():
                continue
            try:
                given[column.name] = cell_value(column, cell)
            except CellFault as fault:
                faults.append((column.name, str(fault)))
        return given, faults


def records(csv_text):
    """The file's records (lists of cells), the header first. Records, not lines: a quoted cell
    may hold a line break. A leading byte order mark is dropped."""
    text = csv_text[1:] if csv_text.startswith(BOM) else csv_text
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def is_blank(cells):
    return not any(cell.strip() for cell in cells)


def neutralised(text):
    """A cell a spreadsheet shows as text, never evaluates (see the module's docstring)."""
    return "'" + text if text.startswith(QUOTED_STARTS) else text


def write_table(names, rows):
    """CSV text (with a byte order mark) of the header `names` and `rows`, each a list of cell texts."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(names)
    writer.writerows(rows)
    return out.getvalue()


def documentation(columns):
    """The columns, for a template route's OpenAPI description."""
    return "\n".join(f"- `{column.name}`: {column.help}" + (f" Example: `{column.example}`." if column.example else "")
                     for column in columns)


def checked_size(csv_text, max_bytes):
    """Refuse what is not text (422) or is larger than `max_bytes` as UTF-8 (413)."""
    if not isinstance(csv_text, str):
        raise ValidationFailed("Send the file as CSV text.", {"file": ["Not text."]})
    try:
        size = len(csv_text.encode("utf-8"))
    except UnicodeEncodeError:  # lone surrogates, which only a direct RPC can send; BSON cannot store them
        raise ValidationFailed("The file is not valid UTF-8 text.", {"file": ["Not UTF-8."]}) from None
    if size > max_bytes:
        raise TooLarge(f"The file is larger than {max_bytes} bytes.", {"file": [f"At most {max_bytes // (1024 * 1024)} MB."]})


class FaultSchema(StrictSchema):
    row = fields.Integer(dump_only=True, metadata={"description": "Data row, counted from 1 (the header is row 0). "
                                                  "A spreadsheet showing the header on line 1 shows data row n on line n + 1."})
    column = fields.String(dump_only=True)
    message = fields.String(dump_only=True)


def problem(faults, detail):
    """The problem (RFC 9457) a list of faults amounts to: errors by row, then column."""
    errors = {}
    for fault in faults:
        errors.setdefault(f"row {fault['row']}", {}).setdefault(fault["column"], []).append(fault["message"])
    return {"type": "about:blank", "title": "Validation failed", "status": 422, "detail": detail, "errors": errors}
