"""CSV import and export through the gateway: multipart or text/csv uploads, at once or in the
background with progress, all or nothing with every fault listed, limits answered 413, formulas
neutralised in exports, and only a partner's own recruiters and admins involved."""
import csv
import io
import uuid

import pytest

from mentor_bank import csvcolumns

from harness import wait_for
from profiles import mentor_csv

pytestmark = pytest.mark.e2e

SECRET = "Quillon-5512"  # a value no answer may quote


def mentor_row(n, tag, **cells):
    row = {column.name: column.example for column in csvcolumns.COLUMNS}
    row.update(external_id=f"HR-{tag}-{n}", given_name=f"Given{n}", email=f"m{n}.{tag}@import.example", phone=f"+1416555{n:04d}")
    row.update(cells)
    return row


def mentor_file(count, tag, changed=None):
    return mentor_csv(mentor_row(n, tag, **(changed or {}).get(n, {})) for n in range(1, count + 1))


def new_partner(admin, api):
    partner = admin.post("/api/v1/partners", json={"name": f"Importer {uuid.uuid4().hex[:6]}", "kind": "employer", "region": "CA-ON"}).json()
    keys = {}
    for role in ("recruiter", "partner_admin", "coordinator", "analyst"):
        staff = admin.post(f"/api/v1/partners/{partner['id']}/staff", json={
            "name": f"Import {role}", "email": f"{uuid.uuid4().hex[:8]}@importer.example", "roles": [role]}).json()
        keys[role] = api(admin.enrol(staff))
    return {"id": partner["id"], **keys}


@pytest.fixture(scope="module")
def partners(api, admin_key):
    admin = api(admin_key)
    return new_partner(admin, api), new_partner(admin, api)


def as_csv(text):
    return {"data": text.encode(), "headers": {"Content-Type": "text/csv"}}


def as_multipart(text, name="mentors.csv"):
    return {"files": {"file": (name, ("\ufeff" + text).encode(), "text/csv")}}


def finished(client, location):
    def ended():
        job = client.get(location).json()
        return job if job["status"] in ("done", "failed") else None

    return wait_for(ended, timeout=180, interval=0.5, message="the import to finish")


def exported(client):
    answer = client.get("/api/v1/mentors/export.csv")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    header, *rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert header == list(csvcolumns.NAMES)
    return {row[header.index("email")]: dict(zip(header, row)) for row in rows}


def test_a_small_multipart_upload_is_imported_at_once_and_exported_with_formulas_neutralised(partners):
    mine, _ = partners
    tag = uuid.uuid4().hex[:8]
    text = mentor_file(3, tag, changed={2: {"employer": '=HYPERLINK("http://evil.example","x")'}})
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_multipart(text))
    assert answer.status_code == 201, answer.text
    assert (answer.json()["status"], answer.json()["rows_created"]) == ("done", 3)
    assert mine["recruiter"].get(answer.headers["Location"]).json()["status"] == "done"

    rows = exported(mine["partner_admin"])
    assert {f"m{n}.{tag}@import.example" for n in (1, 2, 3)} <= set(rows)
    second = rows[f"m2.{tag}@import.example"]
    assert second["employer"] == '\'=HYPERLINK("http://evil.example","x")'
    assert second["phone"] == "'+14165550002"  # a phone starts with +: quoted too
    # The export, edited in a spreadsheet or not, imports again without a change.
    again = mine["recruiter"].post("/api/v1/mentors/imports", **as_multipart(mine["recruiter"].get("/api/v1/mentors/export.csv").content.decode("utf-8-sig")))
    assert again.status_code == 201, again.text
    assert again.json()["rows_written"] == 0


def test_a_larger_text_csv_upload_answers_202_shows_progress_and_a_second_upload_changes_nothing(partners):
    mine, _ = partners
    tag = uuid.uuid4().hex[:8]
    text = mentor_file(1_200, tag)
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(text))
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] in ("checking", "writing") and answer.json()["rows_total"] == 1_200
    location = answer.headers["Location"]
    assert location == f"/api/v1/mentors/imports/{answer.json()['id']}"
    job = finished(mine["recruiter"], location)
    assert (job["status"], job["rows_checked"], job["rows_created"], job["rows_written"]) == ("done", 1_200, 1_200, 1_200)
    assert len([email for email in exported(mine["recruiter"]) if tag in email]) == 1_200

    again = mine["partner_admin"].post("/api/v1/mentors/imports", **as_csv(text))
    assert again.status_code == 202
    job = finished(mine["partner_admin"], again.headers["Location"])
    assert (job["status"], job["rows_unchanged"], job["rows_written"]) == ("done", 1_200, 0)

    changed = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(mentor_file(1_200, tag, changed={600: {"city": "Ottawa"}})))
    job = finished(mine["recruiter"], changed.headers["Location"])
    assert (job["rows_updated"], job["rows_unchanged"]) == (1, 1_199)
    assert exported(mine["recruiter"])[f"m600.{tag}@import.example"]["city"] == "Ottawa"


def test_faults_are_listed_by_row_and_column_and_nothing_is_written(partners):
    mine, _ = partners
    tag = uuid.uuid4().hex[:8]
    small = mentor_file(4, tag, changed={2: {"email": SECRET}, 4: {"languages": f"en:{SECRET}"}})
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(small))
    assert answer.status_code == 422
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["errors"] == {"row 2": {"email": ["Not a valid email address."]},
                                       "row 4": {"languages": ["item 1: level: Must be one of: A1, A2, B1, B2, C1, C2, native."]}}
    assert SECRET not in answer.text

    large = mentor_file(800, tag, changed={731: {"region": "QX-Q5512"}})
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(large))
    assert answer.status_code == 202
    job = finished(mine["recruiter"], answer.headers["Location"])
    assert job["status"] == "failed" and job["rows_written"] == 0
    assert job["faults"] == [{"row": 731, "column": "region", "message": "Not an ISO 3166-2 subdivision code."}]
    assert job["problem"]["status"] == 422 and job["problem"]["errors"] == {"row 731": {"region": ["Not an ISO 3166-2 subdivision code."]}}
    assert "Q5512" not in mine["recruiter"].get(answer.headers["Location"]).text
    assert not [email for email in exported(mine["recruiter"]) if tag in email]


def test_files_over_the_limits_are_413_naming_the_file_and_other_encodings_are_refused(partners):
    mine, _ = partners
    too_big = "a" * (csvcolumns.MAX_BYTES + 1)
    for upload in (as_csv(too_big), as_multipart(too_big)):
        answer = mine["recruiter"].post("/api/v1/mentors/imports", **upload)
        assert answer.status_code == 413, answer.text
        assert answer.headers["Content-Type"] == "application/problem+json" and "file" in answer.json()["errors"]
    many_rows = "given_name\r\n" + "x\r\n" * (csvcolumns.MAX_ROWS + 1)
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(many_rows))
    assert answer.status_code == 413 and "file" in answer.json()["errors"]

    latin = mentor_file(1, "zoë").encode("latin-1")
    answer = mine["recruiter"].post("/api/v1/mentors/imports", data=latin, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 422 and "file" in answer.json()["errors"]


def test_imports_are_for_the_partners_own_recruiters_and_admins_only(partners):
    mine, theirs = partners
    answer = mine["recruiter"].post("/api/v1/mentors/imports", **as_csv(mentor_file(1, uuid.uuid4().hex[:8])))
    location = answer.headers["Location"]
    assert theirs["recruiter"].get(location).status_code == 404
    assert theirs["partner_admin"].get(location).status_code == 404
    for role in ("coordinator", "analyst"):
        client = mine[role]
        assert client.post("/api/v1/mentors/imports", **as_csv(mentor_file(1, "x"))).status_code == 403
        assert client.get(location).status_code == 403
        assert client.get("/api/v1/mentors/imports/template").status_code == 403
        assert client.get("/api/v1/mentors/export.csv").status_code == 403
    # Another partner's export never holds this partner's mentors.
    assert not [email for email in exported(theirs["recruiter"]) if email in exported(mine["recruiter"])]


def test_the_template_documents_and_shows_the_columns(partners, api):
    mine, _ = partners
    answer = mine["recruiter"].get("/api/v1/mentors/imports/template")
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    header, example = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"), newline="")))
    assert header == list(csvcolumns.NAMES) and len(example) == len(header)
    described = api().get("/api/openapi.json").json()["paths"]["/api/v1/mentors/imports/template"]["get"]["description"]
    assert all(f"`{name}`" in described for name in csvcolumns.NAMES)
