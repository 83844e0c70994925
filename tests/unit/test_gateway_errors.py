"""The gateway's error mapping, with the RPC pool replaced by a fake."""
import pytest

from coalition_common.errors import NotFound, ValidationFailed
from gateway import create_app
from gateway.rpc import ServiceTimeout, ServiceUnavailable

IDENTITY = {"staff_id": "s1", "partner_id": "p1", "hub_id": None, "roles": ["coordinator"], "key_id": "k1"}


class FakeRpc:
    amqp_uri = "memory://"

    def __init__(self, describe):
        self.describe = describe

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            return IDENTITY
        if isinstance(self.describe, Exception):
            raise self.describe
        return self.describe


@pytest.fixture
def client_for():
    def make(describe):
        app = create_app({"TESTING": True})
        app.extensions["rpc"] = FakeRpc(describe)
        return app.test_client()

    return make


@pytest.mark.parametrize(
    "raised,status",
    [
        (ServiceTimeout("registry", "no answer"), 504),
        (ServiceUnavailable("registry", "not running"), 503),
        (NotFound("No such staff member."), 404),
        (ValidationFailed("bad", {"roles": ["Unknown role."]}), 422),
    ],
)
def test_service_failures_become_problem_details(client_for, raised, status):
    response = client_for(raised).get("/api/v1/me", headers={"Authorization": "Bearer k"})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == status
    assert response.headers["X-Request-ID"]


def test_unexpected_errors_are_500_without_a_stack_trace(client_for, caplog):
    response = client_for(RuntimeError("duplicate person@example.org")).get("/api/v1/me", headers={"Authorization": "Bearer k"})
    assert response.status_code == 500
    assert "person@example.org" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    # The log says what failed and where, but not the message, which may quote personal data.
    assert "RuntimeError" in caplog.text
    assert "person@example.org" not in caplog.text


def test_a_sane_request_id_is_echoed_and_a_hostile_one_replaced(client_for):
    client = client_for({})
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id;<script>" + "x" * 80}).headers["X-Request-ID"]
    assert "<" not in replaced and len(replaced) == 32
