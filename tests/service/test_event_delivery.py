"""No event is lost and none is applied twice: consumers absent, killed mid-stream, the
publisher crashing between its write and its publish, or an event no queue takes."""
import datetime
import pathlib
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests
from kombu import Connection
from nameko.standalone.events import get_event_exchange
from pymongo import MongoClient

from coalition_common.events import MandatoryPublisher, consumer_queue, declare_consumer_queues, outbox_entry, publish_outbox
from harness import AMQP_PORT, MONGO_URI, ROOT, RUN_ID, free_port, rabbitmqctl, wait_for

pytestmark = pytest.mark.service

MENTEE = {"given_name": "Test", "family_name": "Mentee", "country_trained": "SY", "occupation": "2142", "target_occupation": "2142",
          "years_experience": 4, "credential_recognition": "in_progress", "languages": [{"code": "en", "level": "B2"}],
          "region": "CA-ON", "modes": ["virtual"], "consent": {"version": "2026-1", "given_at": "2026-01-10T09:00:00+00:00"}}


def coordinator(partner_id):
    """The caller an enrolment comes from: a coordinator of `partner_id`."""
    return {"staff_id": f"staff-{partner_id}", "partner_id": partner_id, "hub_id": None, "roles": ["coordinator"]}


def enrolled_facts(platform):
    return platform.database("reporting").facts.count_documents({"type": "mentee.enrolled"})


def admitted_facts(platform):
    return platform.database("reporting").facts.count_documents({"type": "mentee.admitted"})


def admit_new_mentee(platform, partner_id):
    """Take a mentee in and admit them: one mentee.admitted event. Returns the mentee's id."""
    caller = coordinator(partner_id)
    mentee = platform.rpc("matching", "create_mentee", dict(MENTEE, email=f"{uuid.uuid4().hex[:12]}@mentee.example"), identity=caller)
    platform.rpc("matching", "admit_mentee", mentee["id"], {}, identity=caller)
    return mentee["id"]


def test_events_published_before_the_consumer_first_starts_are_kept(platform_factory):
    early = platform_factory("early", ("matching",))
    for _ in range(3):
        admit_new_mentee(early, "partner-early")
    early.start("reporting")
    wait_for(lambda: admitted_facts(early) == 3, message="3 facts from events sent before reporting existed")


def test_killing_the_consumer_mid_stream_loses_nothing_and_doubles_nothing(platform_factory):
    stream = platform_factory("killed", ("matching", "reporting"))
    total = 40
    enrolled = []

    def enrol_all():
        for _ in range(total):
            enrolled.append(admit_new_mentee(stream, "partner-kill"))

    producer = threading.Thread(target=enrol_all)
    producer.start()
    wait_for(lambda: len(enrolled) >= 10, message="the stream to get going")
    stream.stack.kill("reporting")  # SIGKILL: no graceful shutdown
    producer.join(timeout=120)
    assert len(enrolled) == total
    stream.start("reporting")
    wait_for(lambda: admitted_facts(stream) >= total, timeout=60, message=f"{total} facts")
    time.sleep(1)
    facts = list(stream.database("reporting").facts.find({"type": "mentee.admitted"}))
    assert len(facts) == total
    assert len({f["_id"] for f in facts}) == total


def test_redelivered_events_are_applied_once(platform_factory):
    consumer = platform_factory("dupes", ("reporting",))
    event = {"event_id": uuid.uuid4().hex, "mentee_id": "m1", "partner_id": "p1", "isco_major": "2", "region": "CA-ON"}
    for _ in range(3):
        consumer.dispatch("matching", "mentee.enrolled", event)
    marker = dict(event, event_id=uuid.uuid4().hex)
    consumer.dispatch("matching", "mentee.enrolled", marker)
    wait_for(lambda: consumer.database("reporting").facts.find_one({"_id": marker["event_id"]}), message="marker fact")
    assert enrolled_facts(consumer) == 2


def test_an_event_stranded_in_the_outbox_by_a_crash_is_relayed(platform_factory):
    relay = platform_factory("relay", ("matching", "reporting"))
    event_id = uuid.uuid4().hex
    # What a crash between the mentee write and the publish leaves behind.
    relay.database("matching").mentees.insert_one({
        "_id": uuid.uuid4().hex, "partner_id": "p-relay", "status": "waiting", "version": 1, **MENTEE,
        "outbox": [{"event_id": event_id, "type": "mentee.enrolled", "created_at": datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30),
                    "payload": {"mentee_id": "m-relay", "partner_id": "p-relay", "isco_major": "2", "region": "CA-ON"}}],
    })
    wait_for(lambda: relay.database("reporting").facts.find_one({"_id": event_id}), timeout=30, message="the relayed event's fact")
    wait_for(lambda: relay.database("matching").mentees.count_documents({"outbox.0": {"$exists": True}}) == 0, message="outbox emptied")


class OwnFerretDB:
    """A FerretDB of the test's own, so the test can kill and restart it without touching others."""

    def __init__(self, directory):
        self.directory = pathlib.Path(directory)
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process = None

    @property
    def uri(self):
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self):
        self.process = subprocess.Popen(
            [str(ROOT / "var" / "bin" / "ferretdb"), "--handler=sqlite", f"--sqlite-url=file:{self.directory}/data/",
             f"--state-dir={self.directory}", f"--listen-addr=127.0.0.1:{self.port}", f"--debug-addr=127.0.0.1:{free_port()}",
             "--telemetry=disable", "--log-level=error"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import socket

        def listening():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_for(listening, message="FerretDB to listen")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


def test_a_database_restart_mid_stream_loses_no_event(platform_factory, tmp_path):
    database = OwnFerretDB(tmp_path / "ferretdb")
    database.start()
    consumer = None
    try:
        # Shorter than the outage, so the consumer meets it rather than waiting it out.
        consumer = platform_factory("dbrestart", ("reporting",), env={"MONGO_URI": database.uri, "MONGO_SELECT_TIMEOUT": "1"})
        events = [{"event_id": uuid.uuid4().hex, "mentee_id": f"m{i}", "partner_id": "p1", "isco_major": "2", "region": "CA-ON"}
                  for i in range(30)]
        for event in events[:10]:
            consumer.dispatch("matching", "mentee.enrolled", event)
        wait_for(lambda: enrolled_facts(consumer) == 10, message="the first 10 facts")
        database.kill()
        health = f"http://{consumer.stack.health_address('reporting')}"
        assert requests.get(health + "/livez", timeout=5).status_code == 200  # alive: no restart
        assert requests.get(health + "/healthz", timeout=10).status_code == 503  # not ready
        for event in events[10:]:
            consumer.dispatch("matching", "mentee.enrolled", event)
        # The consumer meets the outage: its handlers fail, and their events wait to be retried.
        wait_for(lambda: "ServerSelectionTimeoutError" in (consumer.log_dir / "reporting.log").read_text(),
                 timeout=30, message="a handler to fail on the outage")
        database.start()
        wait_for(lambda: enrolled_facts(consumer) == 30, timeout=60, message="all 30 facts after the restart")
        assert {f["_id"] for f in consumer.database("reporting").facts.find({})} == {e["event_id"] for e in events}
    finally:
        if consumer is not None:
            if database.process.poll() is not None:
                database.start()  # a failed test may leave it down
            consumer.close()  # while its database is still there to drop
        if database.process and database.process.poll() is None:
            database.kill()


def test_an_event_no_queue_takes_stays_in_the_outbox(infrastructure):
    """Publishing is mandatory: an event type with no bound queue fails its publish and stays in
    the outbox for the relay, rather than vanishing; a bound one is published and cleared."""
    vhost = f"{RUN_ID}_mandatory"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    amqp_uri = f"pyamqp://guest:guest@127.0.0.1:{AMQP_PORT}/{vhost}"
    mongo = MongoClient(MONGO_URI, tz_aware=True, serverSelectionTimeoutMS=5000)
    mentees = mongo[f"{vhost}_matching"].mentees
    try:
        declare_consumer_queues("matching", amqp_uri)
        exchange = get_event_exchange("matching")
        # As DeclaringEventDispatcher publishes for the matching service.
        publisher = MandatoryPublisher(amqp_uri, exchange=exchange, declare=[exchange])

        def dispatch(event_type, payload):
            publisher.publish(payload, routing_key=event_type)

        unheard = outbox_entry("mentee.unheard", {"mentee_id": "m1"})
        mentees.insert_one({"_id": "m1", "outbox": [unheard]})
        assert publish_outbox(mentees, "m1", [unheard], dispatch) == 0
        assert mentees.find_one({"_id": "m1"})["outbox"] == [unheard]

        enrolled = outbox_entry("mentee.enrolled", {"mentee_id": "m2", "partner_id": "p1", "isco_major": "2", "region": "CA-ON"})
        mentees.insert_one({"_id": "m2", "outbox": [enrolled]})
        assert publish_outbox(mentees, "m2", [enrolled], dispatch) == 1
        assert mentees.find_one({"_id": "m2"})["outbox"] == []
        with Connection(amqp_uri) as connection:
            queue = consumer_queue("matching", "mentee.enrolled", "reporting", "record_mentee_enrolled")(connection.channel())
            assert queue.get(no_ack=True).payload["event_id"] == enrolled["event_id"]
    finally:
        mongo.drop_database(f"{vhost}_matching")
        mongo.close()
        rabbitmqctl("delete_vhost", vhost)
