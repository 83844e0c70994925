"""The deployment checks are offline: they need neither the broker nor the database."""
import pytest


@pytest.fixture(scope="session", autouse=True)
def infrastructure():
    """Overrides tests/conftest.py's autouse check for a running RabbitMQ and MongoDB/FerretDB,
    which these tests do not use."""
    yield
