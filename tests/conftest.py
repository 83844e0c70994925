"""Fixtures that run the platform for real; the machinery is in harness.py."""
import socket
import uuid

import pytest

from harness import AMQP_PORT, MONGO_PORT, MONGO_URI, RUN_ID, Api, Platform


@pytest.fixture(scope="session")
def infrastructure():
    """The suite needs the real broker and database; `make test` starts them."""
    for port, what in ((AMQP_PORT, "RabbitMQ"), (MONGO_PORT, "FerretDB/MongoDB")):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except OSError:
            pytest.exit(f"{what} is not listening on 127.0.0.1:{port}; run the suite with `make test`", returncode=3)


@pytest.fixture(scope="session")
def mongo(infrastructure):
    """A client of the real database, for tests that drive plain functions against it."""
    from pymongo import MongoClient

    client = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    yield client
    client.close()


@pytest.fixture(scope="module")
def scratch_database(mongo):
    """`scratch_database("registry")`: an empty database of this run's own, dropped after the module."""
    made = []

    def make(service):
        database = mongo[f"{RUN_ID}_{uuid.uuid4().hex[:8]}_{service}"]
        made.append(database.name)
        return database

    yield make
    for name in made:
        mongo.drop_database(name)


@pytest.fixture(scope="session")
def platform_factory(infrastructure, tmp_path_factory, otlp):
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
def webhook_tls(tmp_path_factory):
    """A certificate authority of the test's own and a server certificate for 127.0.0.1."""
    import trustme

    class Tls:
        pass

    tls = Tls()
    tls.ca = trustme.CA()
    tls.server_cert = tls.ca.issue_cert("127.0.0.1")
    tls.ca_path = tmp_path_factory.mktemp("tls") / "ca.pem"
    tls.ca.cert_pem.write_to_path(str(tls.ca_path))
    return tls


@pytest.fixture(scope="session")
def platform(platform_factory, otlp, webhook_tls):
    """Every service and the gateway, exporting traces to a local OTLP receiver."""
    running = platform_factory(
        "e2e",
        ("registry", "mentor_bank", "matching", "reporting", "gateway"),
        env={"OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
             "OTEL_BSP_SCHEDULE_DELAY": "200",
             # The identity cache keeps its production lifetime (30 s): lock-outs must not wait for it.
             # The matrix and fuzz tests send thousands of requests per staff member, and the bad-key
             # tests hundreds of failed ones from this one address.
             "RATE_LIMIT_PER_MINUTE": "100000", "FAILED_AUTH_PER_MINUTE": "100000",
             # Webhook receivers in tests listen on loopback, over HTTPS with a CA made by the test.
             "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_CA_BUNDLE": str(webhook_tls.ca_path)},
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


@pytest.fixture(scope="session")
def api(platform):
    return lambda key=None: Api(platform.gateway_url, key)
