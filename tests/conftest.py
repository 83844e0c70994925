"""Fixtures that run the platform for real; the machinery is in harness.py."""
import socket
import uuid

import pytest

from harness import AMQP_PORT, MONGO_PORT, Api, Platform


@pytest.fixture(scope="session", autouse=True)
def infrastructure():
    """The suite needs the real broker and database; `make test` starts them."""
    for port, what in ((AMQP_PORT, "RabbitMQ"), (MONGO_PORT, "FerretDB/MongoDB")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            pytest.exit(f"{what} is not listening on 127.0.0.1:{port}; run the suite with `make test`", returncode=3)


@pytest.fixture(scope="session")
def platform_factory(tmp_path_factory, otlp):
    # Depends on the receiver so that it outlives the stacks: their exporters flush on stop.
    made = []

    def make(name, components=(), env=None):
        platform = Platform(name, tmp_path_factory.mktemp(name), env or {})
        made.append(platform)
        platform.start(*components)
        return platform

    yield make
    for platform in made:
        platform.close()


@pytest.fixture(scope="session")
def otlp():
    from otlp import Receiver

    receiver = Receiver().start()
    yield receiver
    receiver.stop()


ADMIN_KEY = "test-admin-" + uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture(scope="session")
def platform(platform_factory, otlp):
    """Every service and the gateway, exporting traces to a local OTLP receiver."""
    running = platform_factory(
        "e2e",
        ("registry", "mentor_bank", "matching", "reporting", "gateway"),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
             "OTEL_BSP_SCHEDULE_DELAY": "200"},
    )
    running.rpc("registry", "bootstrap_admin", ADMIN_KEY)
    # The demo coalition, seeded the way `make up` seeds it, before any test adds partners.
    from gateway import demo as demo_data

    running.demo_credentials = demo_data.seed(running.rpc)
    assert running.demo_credentials, "a fresh namespace must be empty"
    return running


@pytest.fixture(scope="session")
def admin_key(platform):
    return ADMIN_KEY


@pytest.fixture(scope="session")
def demo(platform):
    """Demo staff keys: [{"partner": "ngo", "email": ..., "roles": [...], "key": ...}]."""
    return platform.demo_credentials


@pytest.fixture
def api(platform):
    return lambda key=None: Api(platform.gateway_url, key)
