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
from marshmallow import fields

from coalition_common import codes, csvtable
from coalition_common.csvtable import (BOM, MAX_FAULTS, QUOTED_STARTS, SEPARATOR, CellFault, Column, FaultSchema, TooLarge,  # noqa: F401
                                       cell_value, is_blank, neutralised, records, restored)
from coalition_common.fields import Moment
from coalition_common.schemas import StrictSchema
from mentor_bank.schemas import MentorSchema

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
# Files of at most this many rows are imported within the upload's call; larger ones in the background.
IMMEDIATE_ROWS = 500

COLUMNS = (
    Column("external_id", "text", "Your own reference for the mentor (e.g. an HR number), up to 64 characters. Imports match "
           "rows to mentors on it first, then on email. Empty keeps the one stored.", "HR-10442"),
    Column("given_name", "text", "Required.", "Ada"),
    Column("family_name", "text", "Required.", "Okonkwo"),
    Column("email", "text", "Required; one mentor per email within your partner.", "ada.okonkwo@example.org"),
    csvtable.phone_column("+14165550123"),
    Column("employer", "text", "Current employer.", "Northwind Health"),
    Column("occupations", "list", "Required: 1 to 5 ISCO-08 unit groups (four digits), `;` between them.", "2221;2222"),
    csvtable.years_column("12"),
    Column("sectors", "list", "ISCO-08 major or sub-major groups (1 or 2 digits), `;` between them.", "22"),
    csvtable.languages_column("en:C1;fr:native"),
    csvtable.region_column(),
    csvtable.city_column(),
    csvtable.modes_column("in_person;virtual"),
    csvtable.availability_column(),
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



def schema_faults(messages):
    """MentorSchema's load errors as (column, message) pairs, in column order."""
    return csvtable.schema_faults(messages, NAMES)


class Header(csvtable.Header):
    """The header row of a mentor file."""

    def __init__(self, cells):
        super().__init__(cells, COLUMNS, REQUIRED)


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
    return csvtable.write_table(NAMES, rows)


def template():
    """The header and one example row."""
    return write_table([[neutralised(column.example) for column in COLUMNS]])


def documentation():
    """The columns, for the template route's OpenAPI description."""
    return csvtable.documentation(COLUMNS)


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
