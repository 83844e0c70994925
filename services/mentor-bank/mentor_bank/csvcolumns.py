"""The mentor CSV: the one definition of its columns, shared by the template, the import and the
export, and of its limits.

Each column is a loadable field of MentorSchema, under the field's own name. A cell is turned
into the JSON value the API would take, and the row is then loaded with MentorSchema itself, so a
CSV row is checked by the same rules, with the same messages, as a POST /api/v1/mentors.

Cells:
- Empty means "not given": the field's default (optional text empty, capacity 1, no sectors...).
  A row describes the whole profile, so an import clears what an empty cell leaves out, except
  `external_id`, which an empty cell never clears (it is what later imports match on).
- Lists (occupations, sectors, modes, availability) hold their items separated by `;`:
  `2221;2222`. Languages are `code:level` items: `en:C1;fr:native`.
- Booleans are `true` or `false` (any case); whole numbers are digits.
- The self-assessment is left out: it is the mentor's own answers to a versioned questionnaire,
  taken in the tool before applying, not something a recruiter types into a spreadsheet. An
  import leaves a stored self-assessment as it is.

Exports neutralise formula injection: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
carriage return (or their full-width forms, which some spreadsheets also evaluate) gets a
leading `'`, so a spreadsheet shows it as text. Phone numbers start with `+`, so they always carry
the quote in an export; it also keeps spreadsheets from turning them into numbers. An import
removes such a quote again, so an exported file imports unchanged.

Files and answers are UTF-8; a leading byte order mark is allowed (and exports start with one, so
that spreadsheets read accented names correctly). The delimiter is a comma, or a semicolon when
the header has more of them (spreadsheets in many European locales save so; list cells are then
quoted).
"""
import csv
import io
import re
from dataclasses import dataclass

from marshmallow import fields
from nameko.exceptions import deserialize_to_instance

from coalition_common import codes
from coalition_common.errors import ValidationFailed
from coalition_common.fields import Moment
from coalition_common.schemas import StrictSchema
from mentor_bank.schemas import MentorSchema

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Files of at most this many rows are imported within the upload's call; larger ones in the background.
IMMEDIATE_ROWS = 500
# Stored and shown at most; `faults_total` counts them all. A file wrong in every cell would
# otherwise make a job document (and an answer) of tens of megabytes.
MAX_FAULTS = 1000
SEPARATOR = ";"
BOM = "\ufeff"

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
    kind: str  # text, whole, flag, list, languages
    help: str
    example: str


COLUMNS = (
    Column("external_id", "text", "Your own reference for the mentor (e.g. an HR number), up to 64 characters. Imports match "
           "rows to mentors on it first, then on email. Empty keeps the one stored.", "HR-10442"),
    Column("given_name", "text", "Required.", "Ada"),
    Column("family_name", "text", "Required.", "Okonkwo"),
    Column("email", "text", "Required; one mentor per email within your partner.", "ada.okonkwo@example.org"),
    Column("phone", "text", "International format: + then 7 to 15 digits.", "+14165550123"),
    Column("employer", "text", "Current employer.", "Northwind Health"),
    Column("occupations", "list", "Required: 1 to 5 ISCO-08 unit groups (four digits), `;` between them.", "2221;2222"),
    Column("years_experience", "whole", "Required: 0 to 60.", "12"),
    Column("sectors", "list", "ISCO-08 major or sub-major groups (1 or 2 digits), `;` between them.", "22"),
    Column("languages", "languages", "Required: ISO 639-1 code and CEFR level (A1 to C2, or native) as code:level, `;` "
           "between them.", "en:C1;fr:native"),
    Column("region", "text", "Required: ISO 3166-2 subdivision.", "CA-ON"),
    Column("city", "text", "City.", "Toronto"),
    Column("modes", "list", "Required: in_person, virtual, hybrid; `;` between them.", "in_person;virtual"),
    Column("availability", "list", "Weekly slots mon_morning to sun_evening, `;` between them.", "tue_evening;sat_morning"),
    Column("capacity", "whole", "Concurrent groups, 1 to 5; 1 when empty.", "2"),
    Column("gender", "text", f"Self-declared, optional: {', '.join(codes.GENDERS)}. Never shown in the pool.", ""),
    Column("age_band", "text", f"Self-declared, optional: {', '.join(codes.AGE_BANDS)}. Never shown in the pool.", ""),
    Column("supports_communication_needs", "flag", "true or false; false when empty.", "true"),
    Column("alumni_mentee_id", "text", "A former mentee's pseudonymous id (32 hex characters).", ""),
)
NAMES = tuple(column.name for column in COLUMNS)
BY_NAME = {column.name: column for column in COLUMNS}
# Loadable MentorSchema fields that have no column, and why (see the module's docstring).
LEFT_OUT = {"self_assessment": "taken by the mentor in the self-assessment tool, not typed by a recruiter"}
REQUIRED = tuple(name for name in NAMES if MentorSchema().fields[name].required)

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
    raise AssertionError(column.kind)


def _flattened(messages, prefix=""):
    """marshmallow's nested messages as plain sentences: {0: {"level": [m]}} -> "item 1, level: m"."""
    if isinstance(messages, str):
        return [f"{prefix}{messages}"]
    if isinstance(messages, list):
        return [text for message in messages for text in _flattened(message, prefix)]
    found = []
    for key, nested in messages.items():
        label = f"item {key + 1}" if isinstance(key, int) else str(key)
        found += _flattened(nested, f"{prefix}{label}: ")
    return found


def schema_faults(messages):
    """MentorSchema's load errors as (column, message) pairs, in column order."""
    faults = []
    for name, nested in messages.items():
        column = name if name in BY_NAME else "row"
        faults += [(column, text) for text in _flattened(nested)]
    order = {name: index for index, name in enumerate(NAMES)}
    return sorted(faults, key=lambda fault: order.get(fault[0], len(order)))


class Header:
    """The header row: which column each position holds; faults if it is not usable."""

    def __init__(self, cells):
        self.positions = []
        self.faults = []
        seen = set()
        for index, cell in enumerate(cells, start=1):
            name = cell.strip().lower()
            if name in BY_NAME and name not in seen:
                seen.add(name)
                self.positions.append(BY_NAME[name])
            elif name in seen:
                self.faults.append((name, "The column appears twice."))
                self.positions.append(None)
            elif name:
                # Named by position only: a file without a header would show a person's data here.
                self.faults.append((f"column {index}", "Not a known column; the template lists them."))
                self.positions.append(None)
            else:
                self.positions.append(None)  # an unnamed column must stay empty (see row_fields)
        self.faults += [(name, "Missing column (required).") for name in REQUIRED if name not in seen]

    def row_fields(self, cells):
        """(fields for MentorSchema, [(column, message)]) of one data row."""
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


def cell_text(column, value):
    """A stored field's value as its CSV cell, neutralised."""
    if value is None:
        return ""
    if column.kind == "flag":
        text = "true" if value else "false"
    elif column.kind == "list":
        text = SEPARATOR.join(value)
    elif column.kind == "languages":
        text = SEPARATOR.join(f"{skill['code']}:{skill['level']}" for skill in value)
    else:
        text = str(value)
    return neutralised(text)


def write_table(rows):
    """CSV text (with a byte order mark) of the header and `rows`, each a list of cell texts."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(NAMES)
    writer.writerows(rows)
    return out.getvalue()


def template():
    """The header and one example row."""
    return write_table([[neutralised(column.example) for column in COLUMNS]])


def documentation():
    """The columns, for the template route's OpenAPI description."""
    lines = [f"- `{column.name}`: {column.help}" + (f" Example: `{column.example}`." if column.example else "")
             for column in COLUMNS]
    return "\n".join(lines)


class FaultSchema(StrictSchema):
    row = fields.Integer(dump_only=True, metadata={"description": "Data row, counted from 1 (the header is row 0). "
                                                  "A spreadsheet showing the header on line 1 shows data row n on line n + 1."})
    column = fields.String(dump_only=True)
    message = fields.String(dump_only=True)


class ImportSchema(StrictSchema):
    """An import of a CSV file, as its progress and result."""

    id = fields.String(dump_only=True)
    status = fields.String(dump_only=True, metadata={"enum": ["checking", "writing", "done", "failed"]})
    rows_total = fields.Integer(dump_only=True)
    rows_checked = fields.Integer(dump_only=True)
    rows_written = fields.Integer(dump_only=True, metadata={"description": "Created and updated."})
    rows_created = fields.Integer(dump_only=True)
    rows_updated = fields.Integer(dump_only=True)
    rows_unchanged = fields.Integer(dump_only=True)
    faults = fields.List(fields.Nested(FaultSchema), dump_only=True)
    faults_total = fields.Integer(dump_only=True)
    problem = fields.Dict(dump_only=True, allow_none=True,
                          metadata={"description": "When failed: the problem (422) listing the faults, as the POST "
                                                   "answers it for a small file."})
    created_at = Moment(dump_only=True)
    finished_at = Moment(dump_only=True, allow_none=True)
