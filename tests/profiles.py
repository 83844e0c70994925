"""Invented people for tests: one mentor profile to vary, and the steps that make a mentor
eligible for groups (screened, oriented, active)."""
import csv
import io
import uuid

from mentor_bank import csvcolumns

CHECKED_AT = "2026-09-01T09:00:00+00:00"
CHECK_EXPIRES_AT = "2030-09-01T09:00:00+00:00"
CONSENT = {"scope": "coalition", "consent_text_version": "2026-1", "consented_at": CHECKED_AT}
WITHDRAWN = dict(CONSENT, scope="own_partner")


def mentor_profile(**overrides):
    profile = {
        "given_name": "Ada", "family_name": "Okonkwo", "email": f"ada.{uuid.uuid4().hex[:10]}@mentor.example",
        "occupations": ["2142"], "years_experience": 12, "languages": [{"code": "en", "level": "C2"}],
        "region": "CA-ON", "modes": ["virtual"], "availability": ["tue_evening"],
    }
    profile.update(overrides)
    return profile


READY_STEPS = (
    ("record_screening", {"background_check": "clear", "checked_at": CHECKED_AT, "expires_at": CHECK_EXPIRES_AT}),
    ("change_status", {"status": "screened"}),
    ("record_orientation", {"completed_at": CHECKED_AT}),
    ("change_status", {"status": "trained"}),
    ("change_status", {"status": "active"}),
)


def make_ready(call, mentor_id):
    """`call(method_name, mentor_id, payload)`: through the module, an RPC or the API alike."""
    for method, payload in READY_STEPS:
        call(method, mentor_id, payload)


def mentor_csv(rows):
    """A mentor CSV file as a recruiter's spreadsheet saves it: the header, then each row (a dict
    by column name), CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csvcolumns.NAMES)
    for row in rows:
        writer.writerow([row[name] for name in csvcolumns.NAMES])
    return out.getvalue()


MENTEE_CONSENT = {"version": "2026-1", "given_at": CHECKED_AT}


def mentee_profile(**overrides):
    """An invented mentee, ready for intake (consent included)."""
    profile = {
        "given_name": "Olena", "family_name": "Kovalenko", "email": f"olena.{uuid.uuid4().hex[:10]}@mentee.example",
        "phone": "+14165550188", "city": "Mississauga", "country_trained": "UA", "occupation": "2142", "target_occupation": "2142",
        "years_experience": 8, "credential_recognition": "in_progress", "languages": [{"code": "uk", "level": "native"}, {"code": "en", "level": "B2"}],
        "region": "CA-ON", "modes": ["virtual"], "availability": ["tue_evening"], "goals": ["licensure", "job_search"],
        "consent": MENTEE_CONSENT,
    }
    profile.update(overrides)
    return profile


def mentee_csv(rows):
    """A mentee CSV file: the header, then each row (a dict by column name; missing cells empty)."""
    from matching import mentee_imports

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(mentee_imports.NAMES)
    for row in rows:
        writer.writerow([row.get(name, "") for name in mentee_imports.NAMES])
    return out.getvalue()


def mentee_row(**overrides):
    """One CSV row of an invented mentee, as a coordinator's spreadsheet holds it."""
    row = {"given_name": "Farid", "family_name": "Rahimi", "email": f"farid.{uuid.uuid4().hex[:10]}@mentee.example",
           "country_trained": "AF", "occupation": "2142", "target_occupation": "2142", "years_experience": "14",
           "credential_recognition": "recognised", "languages": "fa:native;en:B1", "region": "CA-ON", "modes": "virtual",
           "availability": "tue_evening", "goals": "job_search", "consent_version": "2026-1", "consent_given_at": CHECKED_AT}
    row.update(overrides)
    return row
