"""Input the platform must refuse with a 4xx naming the field, never store and never answer with
a 500: the inputs of issue 6's findings 5, 6 and 10, as schema loads and through the gateway,
and the headers every gateway response carries (finding 11)."""
import contextlib
import datetime
import json
import pathlib
import runpy

import pytest
from marshmallow import ValidationError

from coalition_common.fields import Text
from coalition_common.schemas import StrictSchema, load
from gateway import create_app
from matching.schemas import MenteeSchema
from mentor_bank.schemas import MentorSchema
from registry.schemas import (
    KeyCreateSchema,
    MeSchema,
    PartnerSchema,
    ProgramSchema,
    StaffSchema,
)

PARTNER = {"name": "Harbour Bridge", "kind": "ngo", "region": "CA-ON"}
PROGRAM = {"name": "Nurses 2026", "start_date": "2026-09-01"}
STAFF = {"name": "Tomas Novak", "email": "tomas@harbour.example", "roles": ["coordinator"]}
MENTEE = {"given_name": "Ana", "family_name": "Silva", "email": "ana@example.org", "country_trained": "BR", "occupation": "2221",
          "target_occupation": "2221", "years_experience": 5, "credential_recognition": "in_progress",
          "languages": [{"code": "pt", "level": "native"}], "region": "CA-ON", "modes": ["virtual"],
          "consent": {"version": "2026-1", "given_at": "2026-01-10T09:00:00+00:00"}}
MENTOR = {"given_name": "Ana", "family_name": "Silva", "email": "ana@example.org", "occupations": ["2221"], "region": "CA-ON",
          "years_experience": 8, "languages": [{"code": "pt", "level": "native"}], "modes": ["virtual"]}
HUB_ID = "0123456789abcdef" * 2
OVERFLOWING = "9999-12-31T23:59:59-23:59"


def refused(schema, payload):
    """The fields a load refuses, after checking no message repeats what was sent."""
    with pytest.raises(ValidationError) as err:
        schema.load(payload)
    shown = json.dumps(err.value.messages, ensure_ascii=False)
    for value in payload.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in shown
    return set(err.value.messages)


# Finding 5: partner names that look like another name, or like nothing.
@pytest.mark.parametrize(
    "name",
    [
        "Harbour\u200bBridge",  # zero-width space
        "Harbour Bridge\u200e",  # left-to-right mark
        "Harbour \u039dew",  # Greek capital Nu inside a Latin word
        "H\u0430rbour",  # Cyrillic a
        "Harbour\x00",  # NUL
        "Harbour\nBridge",  # a line break
        "   ",  # whitespace only
        "\u3164\u3164",  # Hangul fillers, shown as nothing
        "Harbour\ud800",  # lone surrogate
    ],
)
def test_partner_names_refuse_look_alikes_and_invisible_characters(name):
    assert refused(PartnerSchema(), dict(PARTNER, name=name)) == {"name"}


def test_partner_names_are_stored_normalised():
    assert PartnerSchema().load(dict(PARTNER, name="  Harbour \u3000 Bridge "))["name"] == "Harbour Bridge"
    assert PartnerSchema().load(dict(PARTNER, name="\uff28arbour"))["name"] == "Harbour"  # fullwidth H
    # Scripts that belong together in one word, and a Persian word's zero-width non-joiner, stay.
    assert PartnerSchema().load(dict(PARTNER, name="山田さくら"))["name"] == "山田さくら"
    assert PartnerSchema().load(dict(PARTNER, name="می\u200cخواهم"))["name"] == "می\u200cخواهم"


class NotesSchema(StrictSchema):
    notes = Text(max=500, multiline=True)


def test_multiline_text_keeps_line_breaks_and_refuses_other_controls():
    assert NotesSchema().load({"notes": "Licensure\r\nthen\ta job"})["notes"] == "Licensure\nthen\ta job"
    assert refused(NotesSchema(), {"notes": "Licensure\x1b[31m"}) == {"notes"}


def test_staff_email_is_stored_in_one_spelling():
    assert StaffSchema().load(dict(STAFF, email=" Tomas@Harbour.EXAMPLE "))["email"] == "tomas@harbour.example"


# Finding 6: lone surrogates in any stored string, and a date-time that overflows.
def test_a_lone_surrogate_in_a_key_label_is_refused():
    assert refused(KeyCreateSchema(), {"label": "laptop\udc00"}) == {"label"}


def test_a_blank_label_is_refused_and_a_missing_one_is_none():
    assert refused(KeyCreateSchema(), {"label": " \t "}) == {"label"}
    assert KeyCreateSchema().load({})["label"] is None


def test_an_expiry_that_overflows_on_conversion_is_refused_not_raised():
    assert refused(KeyCreateSchema(), {"expires_at": OVERFLOWING}) == {"expires_at"}
    assert refused(KeyCreateSchema(), {"expires_at": "2026-06-01T12:00:00"}) == {"expires_at"}  # no offset


def test_date_times_are_converted_to_utc():
    loaded = KeyCreateSchema().load({"expires_at": "2026-06-01T12:00:00+02:00"})["expires_at"]
    assert loaded == datetime.datetime(2026, 6, 1, 10, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "schema,payload,field",
    [
        (MentorSchema(), dict(MENTOR, family_name="Silva\x00"), "family_name"),
        (MenteeSchema(), dict(MENTEE, city="Toronto\ud83d"), "city"),
        (ProgramSchema(), dict(PROGRAM, referrals=["clinic\u202e"]), "referrals"),
        (PartnerSchema(), dict(PARTNER, region="CA-ON\ud800"), "region"),
        (MentorSchema(), dict(MENTOR, languages=[{"code": "e\ud800", "level": "B2"}]), "languages"),
    ],
)
def test_every_service_refuses_unstorable_strings(schema, payload, field):
    assert refused(schema, payload) == {field}


# Finding 10: strict integers, lists without duplicates, ids that are ids.
@pytest.mark.parametrize("value", [3.5, "4", True, 4.0, None])
def test_integers_are_whole_numbers_not_anything_that_converts(value):
    assert refused(ProgramSchema(), dict(PROGRAM, group_size_min=value)) == {"group_size_min"}


def test_mentor_experience_is_strictly_an_integer():
    assert refused(MentorSchema(), dict(MENTOR, years_experience="4")) == {"years_experience"}


@pytest.mark.parametrize(
    "schema,payload,field",
    [
        (StaffSchema(), dict(STAFF, roles=["coordinator", "coordinator"]), "roles"),
        (PartnerSchema(), dict(PARTNER, sectors=["22", "22"]), "sectors"),
        (MentorSchema(), dict(MENTOR, languages=[{"code": "en", "level": "B2"}, {"code": "en", "level": "C1"}]), "languages"),
    ],
)
def test_lists_refuse_duplicates(schema, payload, field):
    assert refused(schema, payload) == {field}


@pytest.mark.parametrize("hub_id", ["", " ", "HUB", HUB_ID.upper(), HUB_ID + "\n"])
def test_hub_id_must_be_an_id(hub_id):
    assert refused(PartnerSchema(), dict(PARTNER, hub_id=hub_id)) == {"hub_id"}


def test_a_real_hub_id_and_no_hub_are_accepted():
    assert PartnerSchema().load(dict(PARTNER, hub_id=HUB_ID))["hub_id"] == HUB_ID
    assert PartnerSchema().load(dict(PARTNER, hub_id=None))["hub_id"] is None


def test_versions_are_shown_and_never_taken():
    assert refused(PartnerSchema(), dict(PARTNER, version=2)) == {"version"}
    assert PartnerSchema().dump(dict(PARTNER, version=3))["version"] == 3


def test_me_shows_the_charter_acceptance_in_iso_8601():
    accepted = datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC)
    partner = dict(PARTNER, id=HUB_ID, charter={"version": "2026-1", "accepted_at": accepted, "accepted_by": "s1"})
    shown = MeSchema().dump({"staff": {}, "partner": partner, "roles": []})
    assert shown["partner"]["charter"]["accepted_at"] == "2026-03-01T09:30:00+00:00"
    # Already shown once (as a service answers) and shown again by the gateway: unchanged.
    assert MeSchema().dump(shown)["partner"]["charter"]["accepted_at"] == "2026-03-01T09:30:00+00:00"


# Through the gateway, with the registry replaced by a fake that validates as the registry does.
IDENTITY = {
    "staff_id": "1" * 32, "partner_id": "2" * 32, "hub_id": None, "key_id": "3" * 32, "charter_accepted": True,
    "roles": ["coalition_admin", "partner_admin", "coordinator"], "expires_at": None,
}
REGISTRY_SCHEMAS = {"register_partner": PartnerSchema, "issue_key": KeyCreateSchema, "create_program": ProgramSchema}


class ValidatingRegistry:
    amqp_uri = "memory://"

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            return IDENTITY
        if method in REGISTRY_SCHEMAS:
            load(REGISTRY_SCHEMAS[method](), args[-1])
        return {"staff": {}, "partner": None, "roles": IDENTITY["roles"]}


class Unlimited:
    """Request limits are not what these tests are about."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: contextlib.nullcontext()


@pytest.fixture
def client():
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = ValidatingRegistry()
    app.extensions["limits"] = Unlimited()
    return app.test_client()


def post(client, path, body, content_type="application/json"):
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return client.post(path, data=data, headers={"Authorization": "Bearer k", "Content-Type": content_type})


def problem(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_json_nested_a_thousand_deep_is_a_400_naming_the_limit(client):
    body = problem(post(client, "/api/v1/partners", "[" * 1000 + "]" * 1000), 400)
    assert "32" in body["detail"]


def test_json_nested_within_the_limit_reaches_validation(client):
    nested = "[" * 30 + "]" * 30
    problem(post(client, "/api/v1/partners", json.dumps(PARTNER)[:-1] + f', "sectors": {nested}}}'), 422)


def test_an_integer_of_4300_digits_is_a_400_not_a_500(client):
    body = problem(post(client, "/api/v1/programs", json.dumps(PROGRAM)[:-1] + ', "group_size_min": ' + "9" * 4300 + "}"), 400)
    assert "20 digits" in body["detail"]


def test_nan_is_not_json(client):
    problem(post(client, "/api/v1/programs", json.dumps(PROGRAM)[:-1] + ', "group_size_min": NaN}'), 400)


def test_bytes_that_are_not_utf8_are_a_400(client):
    problem(post(client, "/api/v1/partners", b'{"name": "Harbour \xff", "kind": "ngo", "region": "CA-ON"}'), 400)


@pytest.mark.parametrize(
    "path,payload,field",
    [
        ("/api/v1/partners", dict(PARTNER, name="Harbour\ud800"), "name"),
        ("/api/v1/staff/" + "1" * 32 + "/keys", {"label": "laptop\udc00"}, "label"),
        ("/api/v1/programs", dict(PROGRAM, referrals=["clinic", "x\ud800"]), "referrals.1"),
    ],
)
def test_a_lone_surrogate_is_a_422_naming_the_field(client, path, payload, field):
    body = problem(post(client, path, json.dumps(payload)), 422)  # json.dumps writes it as \ud800
    assert field in body["errors"]


def test_a_lone_surrogate_in_a_field_name_is_a_422(client):
    problem(post(client, "/api/v1/partners", '{"\\ud800": 1}'), 422)


def test_a_body_over_one_mebibyte_is_a_413_problem(client):
    problem(post(client, "/api/v1/partners", json.dumps(dict(PARTNER, name="x" * (1024 * 1024)))), 413)


@pytest.mark.parametrize(
    "path,payload,field",
    [
        ("/api/v1/partners", dict(PARTNER, name="Harbour \u039dew"), "name"),
        ("/api/v1/partners", dict(PARTNER, name="Harbour\u200bBridge"), "name"),
        ("/api/v1/partners", dict(PARTNER, name=" \t "), "name"),
        ("/api/v1/partners", dict(PARTNER, name="Harbour\x00"), "name"),
        ("/api/v1/partners", dict(PARTNER, hub_id=""), "hub_id"),
        ("/api/v1/programs", dict(PROGRAM, group_size_min=3.5), "group_size_min"),
        ("/api/v1/programs", dict(PROGRAM, group_size_min="4"), "group_size_min"),
        ("/api/v1/staff/" + "1" * 32 + "/keys", {"expires_at": OVERFLOWING}, "expires_at"),
    ],
)
def test_refused_fields_are_a_422_naming_the_field(client, path, payload, field):
    body = problem(post(client, path, json.dumps(payload)), 422)
    assert field in body["errors"]


# Finding 11: headers.
def test_api_answers_are_never_cached_sniffed_or_framed(client):
    for response in (
        client.get("/api/v1/me", headers={"Authorization": "Bearer k"}),
        client.get("/api/v1/me"),  # a 401 problem too
        post(client, "/api/v1/partners", "[" * 100),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_docs_cannot_be_framed(client):
    for path in ("/api/docs", "/api/openapi.json"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_swagger_ui_never_calls_the_online_validator(client):
    assert '{"validatorUrl": null}' in client.get("/api/docs").get_data(as_text=True)


def test_gunicorn_does_not_name_itself():
    from gunicorn.http import wsgi

    runpy.run_path(str(pathlib.Path(__file__).resolve().parents[2] / "gateway" / "gunicorn.conf.py"))

    class Request:
        version = (1, 1)

        def should_close(self):
            return False

    response = wsgi.Response(Request(), None, None)
    response.status = "200 OK"
    response.response_length = 0
    headers = "".join(response.default_headers())
    assert "server:" not in headers.lower()
    assert "Date:" in headers


def test_a_partial_mentor_update_still_checks_every_nested_language_in_full():
    from mentor_bank.schemas import MentorUpdateSchema

    assert refused(MentorUpdateSchema(), {"languages": [{"level": "A1"}]}) == {"languages"}
    assert MentorUpdateSchema().load({"capacity": 2}) == {"capacity": 2}  # nothing else defaulted in


def test_a_language_code_is_lower_case_so_one_language_is_never_two():
    assert refused(MentorSchema(), dict(MENTOR, languages=[{"code": "EN", "level": "C1"}, {"code": "en", "level": "C2"}])) == {"languages"}
