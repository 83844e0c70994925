"""Running the platform for real in tests: RabbitMQ and FerretDB (started by `make test`), with a
vhost and database namespace of this run's own, so two runs never see each other's data."""
import base64
import os
import pathlib
import socket
import subprocess
import sys
import time
import uuid

import requests
from pymongo import MongoClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "tests"))

from stack import SERVICES, Stack  # noqa: E402

AMQP_PORT = int(os.environ.get("AMQP_PORT", "5672"))
MONGO_PORT = int(os.environ.get("MONGO_PORT", "27017"))
MONGO_URI = f"mongodb://127.0.0.1:{MONGO_PORT}/"
RUN_ID = f"t{uuid.uuid4().hex[:10]}"
# Secrets of this test run, for every process it starts and for the tests that sign identities.
os.environ.setdefault("IDENTITY_SIGNING_KEY", uuid.uuid4().hex + uuid.uuid4().hex)
os.environ.setdefault("WEBHOOK_SECRET_KEY", base64.urlsafe_b64encode(os.urandom(32)).decode())


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rabbitmqctl(*args):
    subprocess.run(["bash", str(ROOT / "scripts" / "infra.sh"), "ctl", *args], check=True, capture_output=True, timeout=60)


class Platform:
    """A running set of services (and perhaps the gateway) sharing one vhost and one namespace."""

    def __init__(self, name, tmp_dir, env):
        self.name = name
        self.vhost = f"{RUN_ID}_{name}"
        self.namespace = f"{RUN_ID}_{name}"
        self.amqp_uri = f"pyamqp://guest:guest@127.0.0.1:{AMQP_PORT}/{self.vhost}"
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.env = {
            "AMQP_URI": self.amqp_uri,
            "MONGO_URI": MONGO_URI,
            "DB_NAMESPACE": self.namespace,
            "RPC_TIMEOUT": "5",
            "MONGO_SELECT_TIMEOUT": "3",
            **env,
        }
        self.stack = Stack(tmp_dir / "run", tmp_dir / "log", env=self.env, gateway_port=free_port(),
                           health_ports={name: free_port() for name in SERVICES})
        self.closed = False
        self.log_dir = tmp_dir / "log"
        self.mongo = MongoClient(self.env["MONGO_URI"], tz_aware=True, serverSelectionTimeoutMS=5000)

    @property
    def gateway_url(self):
        return self.stack.gateway_url

    def database(self, service):
        return self.mongo[f"{self.namespace}_{service}"]

    def rpc(self, service, method, *args, timeout=10, identity=None, token=None, **kwargs):
        """Call as `identity` (signed with this run's secret; the platform's own principal when
        None), or with a ready-made `token` (forged or expired, say); token="" sends none."""
        from nameko.standalone.rpc import ClusterRpcClient

        from coalition_common.identity import CONTEXT_KEY, GATEWAY, sign

        if token is None:
            token = sign(identity or GATEWAY)
        context = {CONTEXT_KEY: token} if token else {}
        with ClusterRpcClient(context_data=context, uri=self.amqp_uri, timeout=timeout) as client:
            return getattr(client[service], method)(*args, **kwargs)

    def dispatch(self, source_service, event_type, payload):
        """Publish as the source service would: its subscribers' queues declared first."""
        from nameko.standalone.events import event_dispatcher

        from coalition_common.events import declare_consumer_queues

        declare_consumer_queues(source_service, self.amqp_uri)
        from coalition_common.identity import event_headers

        # Signed as the source service would sign it; consumers refuse unsigned events.
        event_dispatcher(uri=self.amqp_uri, headers=event_headers(source_service, event_type, payload))(
            source_service, event_type, payload)

    def start(self, *names):
        for name in names:
            self.stack.start(name)
        for name in names:
            self.wait_healthy(name)

    def wait_healthy(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        url = (f"{self.gateway_url}/readyz" if name == "gateway"
               else f"http://{self.stack.health_address(name)}/healthz")
        while time.monotonic() < deadline:
            try:
                if requests.get(url, timeout=3).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.stack.pid(name) is None:
                break
            time.sleep(0.3)
        log = (self.log_dir / f"{name}.log").read_text()[-3000:]
        raise AssertionError(f"{name} did not become healthy:\n{log}")

    def close(self):
        if self.closed:
            return
        self.closed = True
        self.stack.stop_all()
        for database in self.mongo.list_database_names():
            if database.startswith(self.namespace):
                self.mongo.drop_database(database)
        self.mongo.close()
        rabbitmqctl("delete_vhost", self.vhost)


def wait_for(predicate, timeout=20, interval=0.2, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


class Api:
    """A thin HTTP client for the gateway."""

    def enrol(self, staff):
        """The first key of a staff member just added: exchanged from their own enrolment token."""
        response = requests.post(self.base_url + "/api/v1/enrolments", json={"token": staff["enrolment_token"]}, timeout=15)
        assert response.status_code == 201, response.text
        return response.json()["key"]

    def __init__(self, base_url, key=None):
        self.base_url = base_url
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method, path, **kwargs):
        kwargs.setdefault("timeout", 15)
        return self.session.request(method, self.base_url + path, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)
