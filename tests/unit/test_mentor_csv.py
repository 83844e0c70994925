"""The mentor CSV without a database: its columns, cells, faults, formula neutralising, and the
gateway's handling of uploads (size, encoding, routes) with the RPC pool replaced by a fake."""
import csv
import io

import pytest

from coalition_common.errors import ValidationFailed
from gateway import create_app
from mentor_bank import csvcolumns, imports
from mentor_bank.schemas import MentorSchema

SECRET = "Zebulon-7781"  # a value that must never come back in a message


def table(*rows, header=csvcolumns.NAMES):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def row(**cells):
    example = {column.name: column.example for column in csvcolumns.COLUMNS}
    example.update(cells)
    return [example[name] for name in csvcolumns.NAMES]


class Nowhere:
    """A database that takes progress notes and holds no mentors, for the checking step alone."""

    def __getattr__(self, name):
        return self

    def update_one(self, *args, **kwargs):
        return None


class Unchecked:
    attempt = 0

    def renew(self):
        pass


def check(csv_text, existing=()):
    """(plan, faults) of a file, as an import finds them before writing."""
    job = {"_id": "j" * 32, "partner_id": "p" * 32, "rows_total": 0}
    loaded, faults = imports._check(Nowhere(), job, Unchecked(), csv_text)
    return imports._matched(job, loaded, list(existing), faults), faults


# --- columns -----------------------------------------------------------------------------------

def test_every_loadable_mentor_field_is_a_column_or_left_out_on_purpose():
    loadable = set(MentorSchema().load_fields)
    assert set(csvcolumns.NAMES) | set(csvcolumns.LEFT_OUT) == loadable
    assert not set(csvcolumns.NAMES) & set(csvcolumns.LEFT_OUT)


def test_the_template_is_the_header_and_an_example_row_that_imports_cleanly():
    text = csvcolumns.template()
    assert text.startswith(csvcolumns.BOM)
    records = list(csvcolumns.records(text))
    assert records[0] == list(csvcolumns.NAMES)
    assert len(records) == 2
    plan, faults = check(text)
    assert faults == []
    assert plan[0].fields["languages"] == [{"code": "en", "level": "C1"}, {"code": "fr", "level": "native"}]
    assert plan[0].fields["occupations"] == ["2221", "2222"]
    assert plan[0].fields["supports_communication_needs"] is True


def test_every_column_is_documented():
    documented = csvcolumns.documentation()
    assert all(f"`{name}`" in documented for name in csvcolumns.NAMES)


# --- cells -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,cell,value", [
    ("occupations", "2221; 2222;", ["2221", "2222"]),
    ("languages", "en:c1;FR:Native", [{"code": "en", "level": "C1"}, {"code": "fr", "level": "native"}]),
    ("years_experience", " 12 ", 12),
    ("supports_communication_needs", "TRUE", True),
    ("supports_communication_needs", "false", False),
    ("given_name", " Ada ", " Ada "),  # text goes to the schema as it is; the schema strips
])
def test_cells_become_the_json_values_the_api_takes(name, cell, value):
    assert csvcolumns.cell_value(csvcolumns.BY_NAME[name], cell) == value


@pytest.mark.parametrize("name,cell", [
    ("years_experience", "12.5"), ("years_experience", "-3"), ("years_experience", "١٢"),
    ("supports_communication_needs", "yes"), ("languages", "en-C1"),
])
def test_cells_that_cannot_be_values_are_refused_without_quoting_them(name, cell):
    with pytest.raises(csvcolumns.CellFault) as refused:
        csvcolumns.cell_value(csvcolumns.BY_NAME[name], cell)
    assert cell not in str(refused.value)


def test_nested_schema_messages_become_sentences_per_column():
    flat = csvcolumns.schema_faults({"languages": {1: {"level": ["Must be one of: A1."]}}, "email": ["Not a valid email address."]})
    assert flat == [("email", "Not a valid email address."), ("languages", "item 2: level: Must be one of: A1.")]


# --- faults ------------------------------------------------------------------------------------

def test_every_fault_is_listed_with_its_data_row_and_column_and_never_the_value():
    rows = [row(email=f"m{n}@example.org", external_id=f"E{n}") for n in range(1, 8)]
    rows[2] = row(email=SECRET, external_id="E3")                        # row 3: not an email
    rows[4] = row(email="m5@example.org", external_id="E5", years_experience=SECRET, region="XX-" + SECRET[:4])  # row 5: two
    rows[6] = row(email="M1@example.org", external_id="E7")              # row 7: row 1's email, in another case
    _, faults = check(table(*rows))
    assert sorted(faults) == [
        (3, "email", "Not a valid email address."),
        (5, "region", "Not an ISO 3166-2 subdivision code."),
        (5, "years_experience", "Must be a whole number."),
        (7, "email", "The same email as row 1."),
    ]
    assert all(SECRET not in message and SECRET[:4] not in message for _, _, message in faults)


def test_blank_lines_are_skipped_but_keep_the_numbering_a_spreadsheet_shows():
    text = table(row(email="a@example.org", external_id=""), ["", ""], row(email="bad", external_id=""))
    plan, faults = check(text)
    assert [p.row for p in plan] == [1]
    assert faults == [(3, "email", "Not a valid email address.")]


def test_repeated_external_ids_are_faults():
    _, faults = check(table(row(email="a@example.org", external_id="X"), row(email="b@example.org", external_id="X")))
    assert faults == [(2, "external_id", "The same external_id as row 1.")]


def test_header_faults_name_known_columns_and_only_the_position_of_unknown_ones():
    header = [name for name in csvcolumns.NAMES if name != "email"] + [SECRET, "city"]
    _, faults = check(table(header=header))
    assert (0, f"column {len(header) - 1}", "Not a known column; the template lists them.") in faults
    assert (0, "city", "The column appears twice.") in faults
    assert (0, "email", "Missing column (required).") in faults
    assert all(SECRET not in column + message for _, column, message in faults)


def test_a_cell_beyond_the_header_is_a_fault_and_optional_columns_may_be_missing():
    header = ["given_name", "family_name", "email", "occupations", "years_experience", "languages", "region", "modes"]
    cells = ["Ada", "Okonkwo", "ada@example.org", "2221", "3", "en:C1", "CA-ON", "virtual"]
    plan, faults = check(table(cells, cells[:2] + ["ben@example.org"] + cells[3:] + [SECRET], header=header))
    assert faults == [(2, "column 9", "A cell outside the named columns.")]
    assert plan[0].fields["capacity"] == 1 and plan[0].fields["sectors"] == []


def test_unreadable_csv_is_a_fault_at_its_row():
    text = table(row(email="a@example.org")) + 'Ada,"Oko"nkwo\r\n'
    _, faults = check(text)
    assert faults == [(2, "row", "Not readable as CSV here (a stray or unclosed quote?).")]


def test_a_semicolon_delimited_file_from_a_european_spreadsheet_reads_the_same():
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(csvcolumns.NAMES)
    writer.writerow(row())
    plan, faults = check(out.getvalue())
    assert faults == [] and plan[0].fields["occupations"] == ["2221", "2222"]


def test_rows_match_stored_mentors_and_clashes_are_faults():
    partner = "p" * 32
    stored = {"_id": "m" * 32, "email": "ada@example.org", "email_key": f"{partner}:ada@example.org",
              "external_id": "HR-1", "external_key": f"{partner}:HR-1"}
    other = {"_id": "n" * 32, "email": "ben@example.org", "email_key": f"{partner}:ben@example.org",
             "external_id": None, "external_key": f"-:{'n' * 32}"}
    plan, faults = check(table(
        row(external_id="HR-1", email="ben@example.org"),   # HR-1 is Ada; Ben's email belongs to another
        row(external_id="HR-2", email="ada@example.org"),   # Ada's email, but she has another external id
        row(external_id="", email="carl@example.org"),
    ), [stored, other])
    assert faults == [(1, "email", "Another of your mentors has this email."),
                      (2, "email", "Another of your mentors, with another external_id, has this email.")]
    assert [(p.row, p.target) for p in plan] == [(3, None)]


def test_an_empty_external_id_keeps_the_stored_one_and_a_same_row_changes_nothing():
    partner = "p" * 32
    plan, _ = check(table(row(external_id="")))
    fields = plan[0].fields
    stored = dict(imports.mentors.stored_fields(fields), _id="m" * 32, external_id="HR-9", external_key=f"{partner}:HR-9",
                  email_key=imports.mentors.email_key(partner, fields["email"]))
    plan, faults = check(table(row(external_id="")), [stored])
    assert faults == [] and plan[0].target is stored and plan[0].changes == {}
    plan, _ = check(table(row(external_id="", city="Ottawa")), [stored])
    assert plan[0].changes == {"city": "Ottawa"}


def test_a_failed_job_reads_as_a_problem_listing_every_fault_by_row_and_column():
    job = {"_id": "j" * 32, "status": "failed", "faults_total": 2, "faults": [
        {"row": 7531, "column": "email", "message": "Not a valid email address."},
        {"row": 7531, "column": "region", "message": "Not an ISO 3166-2 subdivision code."}]}
    problem = imports._problem(job)
    assert problem["status"] == 422
    assert problem["errors"] == {"row 7531": {"email": ["Not a valid email address."], "region": ["Not an ISO 3166-2 subdivision code."]}}


# --- formula injection -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["=HYPERLINK(\"http://x\")", "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "\uff1d1+1", "|cmd",
                                  # a leading quote is quoted too, so the import gives back exactly what was stored
                                  "'=already", "'quoted"])
def test_exported_cells_a_spreadsheet_would_evaluate_start_with_a_quote(text):
    assert csvcolumns.neutralised(text) == "'" + text
    assert csvcolumns.restored(csvcolumns.neutralised(text)) == text


@pytest.mark.parametrize("text", ["Ada", "O'Brien", "2221;2222", "1=1"])
def test_other_cells_are_exported_as_they_are(text):
    assert csvcolumns.neutralised(text) == text
    assert csvcolumns.restored(text) == text


def test_an_exported_mentor_imports_back_to_the_same_fields_phone_included():
    plan, _ = check(table(row(employer="=cmd|' /C calc'!A0", phone="+14165550123", external_id="-7")))
    fields = plan[0].fields
    cells = [csvcolumns.cell_text(column, fields.get(column.name)) for column in csvcolumns.COLUMNS]
    assert cells[csvcolumns.NAMES.index("phone")] == "'+14165550123"
    assert cells[csvcolumns.NAMES.index("employer")].startswith("'=")
    again, faults = check(csvcolumns.write_table([cells]))
    assert faults == [] and again[0].fields == fields


# --- the gateway -------------------------------------------------------------------------------

IDENTITY = {"staff_id": "s1", "partner_id": "p1", "hub_id": None, "roles": ["recruiter"], "key_id": "k1"}
AUTH = {"Authorization": "Bearer k"}


class FakeRpc:
    amqp_uri = "memory://"

    def __init__(self, answer=None):
        self.calls = []
        self.answer = answer

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            return IDENTITY
        self.calls.append((method, args))
        if isinstance(self.answer, Exception):
            raise self.answer
        if method == "export_mentors":
            return "\ufeffgiven_name\r\n'=1+1\r\n"
        return self.answer or {"id": "i" * 32, "status": "writing", "rows_total": 900, "rows_checked": 0, "rows_written": 0,
                               "faults": [], "faults_total": 0, "created_at": "2026-09-01T09:00:00+00:00"}


@pytest.fixture
def gateway():
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = FakeRpc()
    client = app.test_client()
    client.rpc = app.extensions["rpc"]
    return client


def test_a_multipart_upload_reaches_the_service_as_text_without_its_byte_order_mark(gateway):
    body = ("\ufeff" + table(row())).encode()
    answer = gateway.post("/api/v1/mentors/imports", headers=AUTH, data={"file": (io.BytesIO(body), "mentors.csv", "text/csv")})
    assert answer.status_code == 202
    assert answer.headers["Location"] == f"/api/v1/mentors/imports/{'i' * 32}"
    assert gateway.rpc.calls == [("start_import", (table(row()),))]


def test_a_text_csv_body_is_taken_too(gateway):
    gateway.rpc.answer = {"id": "i" * 32, "status": "done", "rows_total": 1, "created_at": "2026-09-01T09:00:00+00:00"}
    answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": "text/csv"}), data=table(row()).encode())
    assert answer.status_code == 201
    assert gateway.rpc.calls == [("start_import", (table(row()),))]


@pytest.mark.parametrize("kind", ["multipart", "text/csv"])
def test_a_file_over_the_size_limit_is_413_naming_the_field_and_never_reaches_the_service(gateway, kind):
    body = b"a" * (csvcolumns.MAX_BYTES + 1)
    if kind == "multipart":
        answer = gateway.post("/api/v1/mentors/imports", headers=AUTH, data={"file": (io.BytesIO(body), "big.csv", "text/csv")})
    else:
        answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": "text/csv"}), data=body)
    assert answer.status_code == 413
    assert answer.mimetype == "application/problem+json"
    assert "file" in answer.get_json()["errors"]
    assert gateway.rpc.calls == []


def test_a_file_at_the_size_limit_passes(gateway):
    body = table(row()).encode()
    body += b" " * (csvcolumns.MAX_BYTES - len(body))
    answer = gateway.post("/api/v1/mentors/imports", headers=AUTH, data={"file": (io.BytesIO(body), "edge.csv", "text/csv")})
    assert answer.status_code == 202


def test_too_many_rows_refused_by_the_service_is_413_too(gateway):
    gateway.rpc.answer = csvcolumns.TooLarge("Too many rows.", {"file": ["At most 20000 rows."]})
    answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": "text/csv"}), data=b"x")
    assert answer.status_code == 413 and answer.get_json()["errors"] == {"file": ["At most 20000 rows."]}


@pytest.mark.parametrize("content_type,body", [
    ("text/csv", "given_name\r\nZoë\r\n".encode("latin-1")),
    ("text/csv; charset=windows-1252", b"given_name\r\n"),
])
def test_a_file_that_is_not_utf8_is_refused_naming_the_field(gateway, content_type, body):
    answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": content_type}), data=body)
    assert answer.status_code == 422 and "file" in answer.get_json()["errors"]
    assert gateway.rpc.calls == []


def test_a_multipart_upload_without_the_file_field_is_refused(gateway):
    answer = gateway.post("/api/v1/mentors/imports", headers=AUTH, data={"other": (io.BytesIO(b"x"), "x.csv")})
    assert answer.status_code == 422 and "file" in answer.get_json()["errors"]
    answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": "application/json"}), data=b"{}")
    assert answer.status_code == 415


def test_fixed_paths_are_not_taken_for_a_mentor_id(gateway):
    template = gateway.get("/api/v1/mentors/imports/template", headers=AUTH)
    assert template.status_code == 200 and template.mimetype == "text/csv"
    assert template.get_data(as_text=True) == csvcolumns.template()
    assert gateway.rpc.calls == []
    exported = gateway.get("/api/v1/mentors/export.csv", headers=AUTH)
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    gateway.get(f"/api/v1/mentors/imports/{'i' * 32}", headers=AUTH)
    assert [method for method, _ in gateway.rpc.calls] == ["export_mentors", "read_import"]


def test_the_service_faults_of_a_small_file_come_back_as_422_by_row_and_column(gateway):
    gateway.rpc.answer = ValidationFailed("Nothing was imported.", {"row 7": {"email": ["Not a valid email address."]}})
    answer = gateway.post("/api/v1/mentors/imports", headers=dict(AUTH, **{"Content-Type": "text/csv"}), data=b"x")
    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"row 7": {"email": ["Not a valid email address."]}}
