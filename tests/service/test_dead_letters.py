"""An event its consumer cannot apply is kept in the dead-letter queue, listed for an operator and
replayed once the fault is fixed; a transient failure is retried with growing waits, a bounded
number of times, and then kept there too.

The consumer is tests/fixtures/faulty_service.py, run with `nameko run` against a vhost and a
database of this module's own; each event's fault is switched by a document in its database."""
import datetime
import json
import os
import signal
import subprocess
import time
import types
import uuid

import pytest
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from pymongo import MongoClient

from coalition_common import dead_letters
from coalition_common.events import consumer_queue
from coalition_common.identity import event_headers
from harness import AMQP_PORT, MONGO_URI, ROOT, RUN_ID, rabbitmqctl, wait_for

pytestmark = pytest.mark.service

SOURCE_SERVICE, EVENT_TYPE = "probe_source", "probe.sent"  # as in faulty_service
QUEUE = consumer_queue(SOURCE_SERVICE, EVENT_TYPE, "faulty", "apply_probe")
RETRY_BASE = 0.5
RETRY_ATTEMPTS = 4
PERSONAL = "ada.person@example.org"


class Faulty:
    def __init__(self, amqp_uri, database):
        self.amqp_uri = amqp_uri
        self.database = database

    def switch(self, event_id, mode, **options):
        if mode is None:
            self.database.switches.delete_one({"_id": event_id})
        else:
            self.database.switches.replace_one({"_id": event_id}, {"mode": mode, **options}, upsert=True)

    def publish(self, event, headers=None, signature=None):
        """As a publisher service would: persistent, to the source's event exchange, signed with
        the platform's secret (or with `signature`, as a forger would)."""
        signed = event_headers(SOURCE_SERVICE, EVENT_TYPE, event) if signature is None else {"x-coalition-event-signature": signature}
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as connection:
            connection.Producer(serializer="json").publish(
                event, exchange=get_event_exchange(SOURCE_SERVICE), routing_key=EVENT_TYPE,
                headers={**(headers or {}), **signed}, delivery_mode=2, declare=[QUEUE])

    def letter(self, event_id):
        return next((letter for letter in dead_letters.list_dead_letters(self.amqp_uri) if letter["event_id"] == event_id), None)

    def raw_letter(self, event_id):
        """A dead letter's headers and body as stored, left in the queue."""
        with Connection(self.amqp_uri) as connection:
            queue = dead_letters.QUEUE(connection.channel())
            while (message := queue.get(no_ack=False)) is not None:
                if dead_letters.metadata(message.headers)["event_id"] == event_id:
                    return dict(message.headers), message.body
        return None

    def applications(self, event_id):
        return list(self.database.applications.find({"event_id": event_id}))

    def attempt_times(self, event_id):
        return sorted(a["at"] for a in self.database.attempts.find({"event_id": event_id}))


def consumers(amqp_uri):
    try:
        with Connection(amqp_uri) as connection:
            return QUEUE(connection.channel()).queue_declare(passive=True).consumer_count
    except Exception:  # not declared yet
        return 0


@pytest.fixture(scope="module")
def faulty(infrastructure, tmp_path_factory):
    name = f"{RUN_ID}_deadletters"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    amqp_uri = f"pyamqp://guest:guest@127.0.0.1:{AMQP_PORT}/{name}"
    mongo = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    directory = tmp_path_factory.mktemp("faulty")
    config = directory / "config.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "AMQP_URI": amqp_uri, "serializer": "json",
        "LOGGING": {"version": 1, "handlers": {"file": {"class": "logging.FileHandler", "filename": str(directory / "faulty.log")}},
                    "root": {"level": "INFO", "handlers": ["file"]}},
    }))
    env = dict(os.environ, MONGO_URI=MONGO_URI, DB_NAMESPACE=name, PYTHONWARNINGS="ignore",
               EVENT_RETRY_BASE_SECONDS=str(RETRY_BASE), EVENT_RETRY_ATTEMPTS=str(RETRY_ATTEMPTS))
    with open(directory / "stdout.log", "ab") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "nameko"), "run", "--config", str(config), "faulty_service:FaultyService"],
            cwd=ROOT / "tests" / "fixtures", env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        wait_for(lambda: process.poll() is not None or consumers(amqp_uri) >= 1, timeout=60, message="the faulty consumer")
        assert process.poll() is None, (directory / "stdout.log").read_text()[-3000:]
        yield Faulty(amqp_uri, mongo[f"{name}_faulty"])
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        mongo.drop_database(f"{name}_faulty")
        mongo.close()
        rabbitmqctl("delete_vhost", name)


def test_a_poison_event_is_dead_lettered_listed_and_replayed_once_fixed(faulty):
    event_id = uuid.uuid4().hex
    faulty.switch(event_id, "poison")
    faulty.publish({"event_id": event_id, "email": PERSONAL}, headers={"nameko.probe": "kept"})

    letter = wait_for(lambda: faulty.letter(event_id), timeout=10, message="the poison event's dead letter")
    assert {k: v for k, v in letter.items() if k != "dead_lettered_at"} == {
        "queue": QUEUE.name, "service": "faulty", "handler": "apply_probe", "source_service": SOURCE_SERVICE,
        "event_type": EVENT_TYPE, "event_id": event_id, "error": "faulty_service.PoisonEvent", "attempts": 1,
    }
    assert datetime.datetime.fromisoformat(letter["dead_lettered_at"]).tzinfo is not None
    headers, body = faulty.raw_letter(event_id)
    assert json.loads(body) == {"event_id": event_id, "email": PERSONAL}  # the original body
    assert headers["nameko.probe"] == "kept"  # and its context headers
    assert PERSONAL not in json.dumps(headers, default=str)  # the error's message stays out
    assert faulty.applications(event_id) == []
    assert faulty.letter(event_id) == letter  # listing took nothing away

    faulty.switch(event_id, None)  # the fault is fixed
    assert dead_letters.replay(faulty.amqp_uri, event_id) is True
    wait_for(lambda: faulty.applications(event_id), message="the replayed event applied")
    marker = uuid.uuid4().hex
    faulty.publish({"event_id": marker})
    wait_for(lambda: faulty.applications(marker), message="a later event applied")
    [applied] = faulty.applications(event_id)  # exactly once
    assert applied["context"]["probe"] == "kept"
    assert not [key for key in applied["context"] if key.startswith("x-coalition")]
    assert faulty.letter(event_id) is None
    assert dead_letters.replay(faulty.amqp_uri, event_id) is False


@pytest.mark.parametrize("signature", ["", "0" * 64, "forged-with-another-secret"])
def test_an_event_not_signed_by_the_platform_is_never_applied(faulty, signature):
    """Publishing to the broker is not enough to make a service act: a forged event is kept in the
    dead-letter queue, unapplied."""
    event_id = uuid.uuid4().hex
    if signature == "forged-with-another-secret":
        signature = event_headers(SOURCE_SERVICE, EVENT_TYPE, {"event_id": event_id}, secret="x" * 40)["x-coalition-event-signature"]
    faulty.publish({"event_id": event_id}, signature=signature)
    letter = wait_for(lambda: faulty.letter(event_id), timeout=10, message="the forged event's dead letter")
    assert letter["error"] == "coalition_common.errors.Unauthenticated"
    assert faulty.applications(event_id) == [] and faulty.attempt_times(event_id) == []


def test_a_transient_failure_is_retried_with_growing_waits_then_dead_lettered(faulty):
    event_id = uuid.uuid4().hex
    faulty.switch(event_id, "transient")
    faulty.publish({"event_id": event_id})

    letter = wait_for(lambda: faulty.letter(event_id), timeout=120, message="the dead letter after the retries")
    assert letter["attempts"] == RETRY_ATTEMPTS
    assert letter["error"] == "pymongo.errors.ConnectionFailure"
    times = faulty.attempt_times(event_id)
    assert len(times) == RETRY_ATTEMPTS
    # Each wait is at least the policy's, doubling from the base (times are stored to the millisecond).
    gaps = [(after - before).total_seconds() for before, after in zip(times, times[1:])]
    for gap, least in zip(gaps, (0.5, 1.0, 2.0)):
        assert gap >= least - 0.002, gaps
    # It stops: nothing more comes after longer than the longest wait.
    time.sleep(2 * 2.0)
    assert len(faulty.attempt_times(event_id)) == RETRY_ATTEMPTS
    assert faulty.applications(event_id) == []

    assert dead_letters.discard(faulty.amqp_uri, event_id) is True
    assert faulty.letter(event_id) is None


def test_an_outage_that_ends_within_the_retries_applies_the_event_once(faulty):
    event_id = uuid.uuid4().hex
    faulty.switch(event_id, "transient", times=2)  # the database is back for the third attempt
    faulty.publish({"event_id": event_id}, headers={"nameko.probe": "kept"})
    wait_for(lambda: faulty.applications(event_id), timeout=30, message="the event applied on a retry")
    marker = uuid.uuid4().hex
    faulty.publish({"event_id": marker})
    wait_for(lambda: faulty.applications(marker), message="a later event applied")
    [applied] = faulty.applications(event_id)
    assert len(faulty.attempt_times(event_id)) == 3
    # The retry's count is bookkeeping: it must not become worker context, which travels on.
    assert applied["context"]["probe"] == "kept"
    assert not [key for key in applied["context"] if key.startswith("x-coalition")]
    assert faulty.letter(event_id) is None


def test_a_letter_whose_queue_is_gone_stays_when_replayed(faulty):
    event_id = uuid.uuid4().hex
    message = types.SimpleNamespace(body=json.dumps({"event_id": event_id}).encode(), content_type="application/json",
                                    content_encoding="utf-8", headers={})
    dead_letters.send(faulty.amqp_uri, message, queue="evt-gone-queue", service="gone", handler="h",
                      source_service="nobody", event_type="gone.event", event_id=event_id, error="builtins.KeyError", attempts=1)
    with pytest.raises(dead_letters.Unroutable):
        dead_letters.replay(faulty.amqp_uri, event_id)
    assert faulty.letter(event_id)["queue"] == "evt-gone-queue"
    assert dead_letters.discard(faulty.amqp_uri, event_id) is True


@pytest.fixture(scope="module")
def gateway(faulty):
    """The gateway app on this module's vhost. Key resolution needs the registry, so the caller
    is set from a test header instead; everything after it (the policy check, the blueprint,
    the broker) is the gateway's own."""
    from flask import g, request

    from gateway import create_app
    from gateway.api import dead_letters as blueprint

    app = create_app({"TESTING": True, "AMQP_URI": faulty.amqp_uri, "WATCH_LOCKOUTS": False})
    if blueprint.bp.name not in app.blueprints:  # until create_app registers it
        app.extensions["flask-smorest"]["apis"][""]["ext_obj"].register_blueprint(blueprint.bp)

    @app.before_request
    def caller_from_test_header():
        role = request.headers.get("X-Test-Role", "coalition_admin")
        g.identity = {"staff_id": "staff-test", "partner_id": None if role == "coalition_admin" else "partner-test",
                      "hub_id": None, "roles": [role]}

    return app


def poisoned(faulty):
    event_id = uuid.uuid4().hex
    faulty.switch(event_id, "poison")
    faulty.publish({"event_id": event_id, "email": PERSONAL})
    wait_for(lambda: faulty.letter(event_id), timeout=10, message="the poison event's dead letter")
    return event_id


def test_coalition_admins_list_and_replay_dead_letters_over_http(faulty, gateway):
    event_id = poisoned(faulty)
    client = gateway.test_client()
    partner_admin = {"X-Test-Role": "partner_admin"}
    assert client.get("/api/v1/dead-letters", headers=partner_admin).status_code == 403
    assert client.post(f"/api/v1/dead-letters/{event_id}/replay", headers=partner_admin).status_code == 403
    refused = client.get("/api/v1/dead-letters?limit=0")
    assert refused.status_code == 422 and "limit" in refused.get_json()["errors"]

    listed = client.get("/api/v1/dead-letters")
    assert listed.status_code == 200
    [letter] = [item for item in listed.get_json()["items"] if item["event_id"] == event_id]
    assert letter["event_type"] == EVENT_TYPE and letter["service"] == "faulty" and letter["attempts"] == 1
    assert letter["error"] == "faulty_service.PoisonEvent"
    assert PERSONAL not in listed.get_data(as_text=True)

    faulty.switch(event_id, None)
    replayed = client.post(f"/api/v1/dead-letters/{event_id}/replay")
    assert replayed.status_code == 200 and replayed.get_json() == {"event_id": event_id, "replayed": True}
    wait_for(lambda: faulty.applications(event_id), message="the replayed event applied")
    assert client.post(f"/api/v1/dead-letters/{event_id}/replay").status_code == 404


def test_operators_list_and_replay_dead_letters_from_the_command_line(faulty, gateway):
    event_id = poisoned(faulty)
    runner = gateway.test_cli_runner()
    listed = runner.invoke(args=["dead-letters", "list"])
    assert listed.exit_code == 0 and event_id in listed.output and "faulty_service.PoisonEvent" in listed.output
    assert PERSONAL not in listed.output

    faulty.switch(event_id, None)
    replayed = runner.invoke(args=["dead-letters", "replay", event_id])
    assert replayed.exit_code == 0, replayed.output
    wait_for(lambda: faulty.applications(event_id), message="the replayed event applied")
    again = runner.invoke(args=["dead-letters", "replay", event_id])
    assert again.exit_code != 0 and "no dead letter" in again.output
