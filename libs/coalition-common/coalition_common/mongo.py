"""A nameko dependency provider that hands each worker its service's own database."""
from nameko.extensions import DependencyProvider
from pymongo import MongoClient

from coalition_common import config
from coalition_common.tracing import setup_service_tracing


def connect(service_name):
    """A client for one service's database. Timeouts are short so a database outage
    surfaces as an error the caller can map, not a hang."""
    client = MongoClient(
        config.mongo_uri(),
        serverSelectionTimeoutMS=int(config.seconds("MONGO_SELECT_TIMEOUT", 5) * 1000),
        connectTimeoutMS=3000,
        appname=service_name,
        tz_aware=True,  # dates come back as aware UTC datetimes, comparable with utcnow()
    )
    return client, client[config.database_name(service_name)]


class MongoDatabase(DependencyProvider):
    """Injects the service's pymongo Database.

    `prepare` is called once with the database at container start, for indexes.
    """

    def __init__(self, prepare=None):
        self.prepare = prepare
        self.client = None
        self.database = None

    def setup(self):
        # Dependencies are set up in no fixed order; tracing must come before the client.
        setup_service_tracing(self.container.service_name)
        self.client, self.database = connect(self.container.service_name)

    def start(self):
        if self.prepare is not None:
            self.prepare(self.database)

    def stop(self):
        if self.client is not None:
            self.client.close()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.database


def is_duplicate_key(error):
    """A unique index refused the write. MongoDB says so with code 11000 (DuplicateKeyError);
    FerretDB 1.x on SQLite answers updates with an InternalError naming the UNIQUE constraint."""
    from pymongo.errors import DuplicateKeyError, OperationFailure

    if isinstance(error, DuplicateKeyError):
        return True
    return isinstance(error, OperationFailure) and "UNIQUE constraint failed" in str(error)
