"""Bulk import and export of your own partner's mentors as CSV, for recruiters.

Its routes sit under /api/v1/mentors beside the mentors blueprint's `/<mentor_id>`: werkzeug
tries fixed path segments before variable ones, so `/imports`, `/imports/template` and
`/export.csv` never reach a mentor route as a mentor id."""
from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from coalition_common.errors import ValidationFailed
from gateway.api.common import as_caller
from gateway.auth import allowed
from mentor_bank import csvcolumns

bp = Blueprint("mentor_imports", __name__, url_prefix="/api/v1/mentors",
               description="Bulk import and export of your own partner's mentors (CSV)")

# A small file is imported within the call, which may take FerretDB tens of seconds on a busy machine.
IMPORT_TIMEOUT = 60
EXPORT_TIMEOUT = 60
# Room for the multipart boundaries and part headers around a file at the limit.
MULTIPART_ROOM = 64 * 1024

CSV_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                           "properties": {"file": {"type": "string", "format": "binary"}}}},
        "text/csv": {"schema": {"type": "string"}},
    },
}
CSV_ANSWER = {"200": {"description": "CSV (UTF-8 with a byte order mark)",
                      "content": {"text/csv": {"schema": {"type": "string"}}}}}


def _too_large(max_bytes):
    return csvcolumns.TooLarge(f"The file is larger than {max_bytes} bytes.", {"file": [f"At most {max_bytes // (1024 * 1024)} MB."]})


def uploaded_text(max_bytes=csvcolumns.MAX_BYTES):
    """The uploaded CSV as text: the multipart field `file`, or a text/csv body. UTF-8 only (a
    byte order mark is allowed); the size is capped at `max_bytes` before anything is read past it."""
    try:
        if request.mimetype == "multipart/form-data":
            request.max_content_length = max_bytes + MULTIPART_ROOM
            upload = request.files.get("file")
            if upload is None:
                raise ValidationFailed("Send the CSV file in the multipart field `file`.", {"file": ["Missing."]})
            content = upload.read(max_bytes + 1)
        elif request.mimetype == "text/csv":
            charset = request.mimetype_params.get("charset", "utf-8").lower()
            if charset not in ("utf-8", "utf8"):
                raise ValidationFailed("The file must be UTF-8.", {"file": ["Not UTF-8: save it as CSV UTF-8."]})
            request.max_content_length = max_bytes
            content = request.get_data()
        else:
            raise UnsupportedMediaType("Send multipart/form-data with the field `file`, or a text/csv body.")
    except RequestEntityTooLarge:
        raise _too_large(max_bytes) from None
    if len(content) > max_bytes:
        raise _too_large(max_bytes)
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("The file is not UTF-8 text.", {"file": ["Not UTF-8: save it as CSV UTF-8."]}) from None


IMPORT_DESCRIPTION = f"""Import mentors from a CSV file with the template's columns (GET /api/v1/mentors/imports/template),
as the multipart field `file` or a `text/csv` body, in UTF-8.

All or nothing: every row is checked first; on any fault nothing is written. Rows match your
stored mentors on `external_id`, else on email: a matched mentor is updated where the row
differs, an unmatched row becomes a new applicant, and uploading the same file again changes
nothing.

Up to {csvcolumns.MAX_BYTES // (1024 * 1024)} MB and {csvcolumns.MAX_ROWS} rows (413 beyond). A file of up to
{csvcolumns.IMMEDIATE_ROWS} rows is imported at once (unless the bank is very large): 201, or 422 listing the
faults in `errors` as `{{"row 7": {{"email": [message]}}}}` (data rows count from 1; row 0 is the
header). Otherwise the answer is 202: follow its Location until the import is `done`, or
`failed` with the same problem in `problem`."""


@bp.route("/imports", methods=["POST"])
@allowed("mentor.import")
@bp.doc(requestBody=CSV_BODY, description=IMPORT_DESCRIPTION)
@bp.response(201, csvcolumns.ImportSchema, description="A small file, imported")
@bp.alt_response(202, schema=csvcolumns.ImportSchema, description="A larger file, being imported: follow Location")
def start_import():
    """Import mentors from a CSV file."""
    job = as_caller("mentor_bank", "start_import", uploaded_text(), timeout=IMPORT_TIMEOUT)
    status = 201 if job["status"] in ("done", "failed") else 202
    return job, status, {"Location": f"{bp.url_prefix}/imports/{job['id']}"}


@bp.route("/imports/template", methods=["GET"])
@allowed("mentor.import")
@bp.doc(responses=CSV_ANSWER, description="The CSV header and one example row. Columns:\n\n" + csvcolumns.documentation())
def import_template():
    """The import template."""
    return _csv(csvcolumns.template(), "mentors-template.csv")


@bp.route("/imports/<string:import_id>", methods=["GET"])
@allowed("mentor.import")
@bp.response(200, csvcolumns.ImportSchema)
def read_import(import_id):
    """An import's progress (rows checked, rows written) and result; your own partner's only."""
    return as_caller("mentor_bank", "read_import", import_id)


@bp.route("/export.csv", methods=["GET"])
@allowed("mentor.export")
@bp.doc(responses=CSV_ANSWER)
def export_mentors():
    """Your own partner's mentors as CSV.

    The import's columns, one row per mentor (erased ones left out). Cells that a spreadsheet
    would run as a formula (starting with =, +, -, @, tab or carriage return) start with a `'`,
    phone numbers included; an import removes it again, so an exported file imports unchanged."""
    return _csv(as_caller("mentor_bank", "export_mentors", timeout=EXPORT_TIMEOUT), "mentors.csv")


def _csv(text, filename):
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
