from nameko.exceptions import RemoteError, deserialize, serialize

from coalition_common.errors import NotFound, ValidationFailed, validation_failed
from marshmallow import Schema, ValidationError, fields


def test_domain_errors_cross_the_rpc_boundary_as_themselves():
    sent = ValidationFailed("The request has invalid fields.", {"region": ["Not an ISO 3166-2 code."]})
    received = deserialize(serialize(sent))
    assert isinstance(received, ValidationFailed)
    assert received.status == 422
    assert received.errors == {"region": ["Not an ISO 3166-2 code."]}


def test_not_found_keeps_its_status():
    received = deserialize(serialize(NotFound("No such partner.")))
    assert isinstance(received, NotFound) and received.status == 404


def test_other_errors_stay_remote_errors():
    assert isinstance(deserialize(serialize(KeyError("boom"))), RemoteError)


def test_validation_failed_keeps_field_messages_but_not_values():
    class Person(Schema):
        email = fields.Email(required=True)

    try:
        Person().load({"email": "secret-person@"})
    except ValidationError as err:
        failure = validation_failed(err)
    assert failure.errors == {"email": ["Not a valid email address."]}
    assert "secret-person" not in repr(failure.args)
