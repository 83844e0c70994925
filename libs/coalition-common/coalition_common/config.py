"""Settings from the environment: the one place the services and the gateway read them.

Production points MONGO_URI at MongoDB and AMQP_URI at the RabbitMQ cluster; nothing else changes.
"""
import os

DEFAULT_AMQP_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"


def amqp_uri():
    return os.environ.get("AMQP_URI", DEFAULT_AMQP_URI)


def mongo_uri():
    return os.environ.get("MONGO_URI", DEFAULT_MONGO_URI)


def database_name(service_name):
    """Each service owns one database; DB_NAMESPACE keeps test runs and deployments apart."""
    namespace = os.environ.get("DB_NAMESPACE", "coalition")
    return f"{namespace}_{service_name}"


def seconds(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return float(default)
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds")
    return value


def rpc_timeout():
    """Nameko RPC has no timeout by default; every call on this platform has one."""
    return seconds("RPC_TIMEOUT", 5)
