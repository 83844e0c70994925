"""The mentee schema and its CSV columns: one definition, every loadable field a column."""
import pytest
from marshmallow import ValidationError

from coalition_common import codes, csvtable
from matching import mentee_imports
from matching.schemas import MenteeSchema, MenteeUpdateSchema

from profiles import mentee_csv, mentee_profile, mentee_row


def test_goals_and_credential_recognition_are_the_shared_codes():
    assert MenteeSchema().load(mentee_profile(goals=list(codes.GOALS)))["goals"] == list(codes.GOALS)
    for field, value in (("goals", ["find a job"]), ("goals", ["licensure", "licensure"]), ("credential_recognition", "pending"),
                         ("country_trained", "XX"), ("country_trained", "ua"), ("occupation", "214"), ("phone", "555-1234")):
        with pytest.raises(ValidationError) as refused:
            MenteeSchema().load(mentee_profile(**{field: value}))
        assert field in refused.value.messages


def test_consent_is_required_and_server_set_fields_are_refused():
    profile = mentee_profile()
    del profile["consent"]
    with pytest.raises(ValidationError) as refused:
        MenteeSchema().load(profile)
    assert set(refused.value.messages) == {"consent"}
    for field in ("status", "admitted_at", "program_id", "group_id", "partner_id", "version"):
        with pytest.raises(ValidationError) as refused:
            MenteeUpdateSchema().load({field: "x"})
        assert field in refused.value.messages


def test_every_loadable_field_has_a_column_and_the_template_loads():
    loadable = {name for name, field in MenteeSchema().fields.items() if not field.dump_only}
    flattened = {field for _, field, _ in mentee_imports.NESTED}
    columns = set(mentee_imports.NAMES) - {column for column, _, _ in mentee_imports.NESTED}
    assert columns | flattened == loadable
    loaded, faults = mentee_imports.check(mentee_imports.template())
    assert faults == [] and loaded[0][1]["consent"]["version"] == "2026-1"


def test_nested_faults_are_named_by_their_columns_and_never_quote_a_cell():
    row = mentee_row(consent_given_at="yesterday", preferred_mentor_gender="robot", email="not-an-address")
    _, faults = mentee_imports.check(mentee_csv([row]))
    assert {fault["column"] for fault in faults} == {"consent_given_at", "preferred_mentor_gender", "email"}
    assert not any("robot" in fault["message"] or "not-an-address" in fault["message"] for fault in faults)


def test_a_missing_required_column_is_a_header_fault():
    text = mentee_csv([mentee_row()]).replace("consent_version", "consent_text", 1)
    _, faults = mentee_imports.check(text)
    assert {"row": 0, "column": "consent_version", "message": "Missing column (required)."} in faults


def test_files_over_the_limits_are_too_large(monkeypatch):
    monkeypatch.setattr(mentee_imports, "MAX_ROWS", 1)
    with pytest.raises(csvtable.TooLarge):
        mentee_imports.check(mentee_csv([mentee_row(), mentee_row()]))
