"""The whole of matching through the gateway: intake of twelve mentees at an NGO, three mentors of
two employers pooled to it, a matching run (a second one at the same time is refused), proposals
with explanations, four eyes on each (the same approver twice refused), and then matched mentees
and the mentors' places taken. Afterwards, no event, log line or exported span carries a mentee's
name or email."""
import json
import pathlib
import threading
import uuid

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

from coalition_common.identity import operator
from coalition_common.topology import PUBLISHES

from harness import wait_for
from profiles import CONSENT, make_ready, mentor_profile

pytestmark = pytest.mark.e2e

GIVEN_AT = "2026-09-01T09:00:00+00:00"


def letters(text):
    """Hex digits as letters, so markers are names a name field accepts."""
    return "".join(chr(ord("a") + int(c, 16)) for c in text)


def new_partner(admin, api, label, kind, people):
    """A partner whose staff (label: roles) each enrol for a key of their own."""
    partner = admin.post("/api/v1/partners", json={"name": f"Flow {label} {uuid.uuid4().hex[:6]}", "kind": kind, "region": "CA-ON"})
    assert partner.status_code == 201, partner.text
    partner = partner.json()
    clients = {}
    for name, roles in people.items():
        staff = admin.post(f"/api/v1/partners/{partner['id']}/staff", json={
            "name": f"{label} {name}", "email": f"{uuid.uuid4().hex[:8]}@{label.lower()}.example", "roles": roles})
        assert staff.status_code == 201, staff.text
        clients[name] = api(admin.enrol(staff.json()))
    accepted = clients["admin"].post(f"/api/v1/partners/{partner['id']}/charter", json={"version": "2026-1"})
    assert accepted.status_code == 201, accepted.text
    return partner["id"], clients


def pooled_mentor(recruiter):
    answer = recruiter.post("/api/v1/mentors", json=mentor_profile(capacity=1))
    assert answer.status_code == 201, answer.text
    mentor_id = answer.json()["id"]

    def step(method, _, payload):
        path, verb = {"record_screening": ("screening", "PUT"), "record_orientation": ("orientation", "PUT"),
                      "change_status": ("status", "POST")}[method]
        assert recruiter.request(verb, f"/api/v1/mentors/{mentor_id}/{path}", json=payload).status_code == 200

    make_ready(step, mentor_id)
    assert recruiter.request("PUT", f"/api/v1/mentors/{mentor_id}/sharing", json=CONSENT).status_code == 200
    return mentor_id


def mentee(tag):
    return {"given_name": f"Marker{letters(tag)}", "family_name": f"Intake{letters(tag[::-1])}", "email": f"mentee.{tag}@intake.example",
            "phone": "+14165550199", "country_trained": "NG", "occupation": "2142", "target_occupation": "2142", "years_experience": 9,
            "credential_recognition": "in_progress", "languages": [{"code": "en", "level": "C1"}], "region": "CA-ON", "city": "Toronto",
            "modes": ["virtual"], "availability": ["tue_evening"], "goals": ["job_search", "licensure"],
            "needs_communication_support": False, "consent": {"version": "2026-1", "given_at": GIVEN_AT}}


class EventTap:
    """A queue of the test's own bound to every service's event exchange: a copy of each event
    published while it listens."""

    def __init__(self, amqp_uri):
        self.connection = Connection(amqp_uri)
        self.queue = Queue(f"tap-{uuid.uuid4().hex}", durable=False, auto_delete=False, exclusive=False)
        channel = self.connection.channel()
        self.bound = self.queue(channel)
        self.bound.declare()
        for service in PUBLISHES:
            exchange = get_event_exchange(service)
            exchange(channel).declare()
            self.bound.bind_to(exchange=exchange.name, routing_key="#")

    def drain(self):
        messages = []
        while True:
            message = self.bound.get(no_ack=True)
            if message is None:
                break
            body = message.body.decode() if isinstance(message.body, bytes) else message.body
            messages.append({"routing_key": message.delivery_info.get("routing_key"), "body": body,
                             "headers": {key: str(value) for key, value in (message.headers or {}).items()}})
        return messages

    def close(self):
        self.bound.delete()
        self.connection.close()


def test_intake_run_and_four_eyes_review_through_the_gateway_without_personal_data_anywhere(platform, api, admin_key, otlp):
    tap = EventTap(platform.amqp_uri)
    try:
        flow(platform, api, admin_key, otlp, tap)
    finally:
        tap.close()


def flow(platform, api, admin_key, otlp, tap):
    admin = api(admin_key)
    ngo_id, ngo = new_partner(admin, api, "NGO", "ngo", {"admin": ["partner_admin", "coordinator"], "bob": ["coordinator"]})
    employers = [new_partner(admin, api, f"Employer{k}", "employer", {"admin": ["partner_admin", "recruiter"]}) for k in (1, 2)]
    mentor_ids = [pooled_mentor(employers[0][1]["admin"]) for _ in range(2)] + [pooled_mentor(employers[1][1]["admin"])]
    partner_of = dict(zip(mentor_ids, [employers[0][0]] * 2 + [employers[1][0]]))
    alice, bob = ngo["admin"], ngo["bob"]

    program = alice.post("/api/v1/programs", json={"name": "Engineers into work", "start_date": "2027-01-15"})
    assert program.status_code == 201, program.text
    program_id = program.json()["id"]

    # Intake: twelve mentees whose names and emails are markers to look for afterwards.
    profiles, mentee_ids = [], []
    for _ in range(12):
        profile = mentee(uuid.uuid4().hex[:12])
        created = alice.post("/api/v1/mentees", json=profile)
        assert created.status_code == 201, created.text
        enrolled = alice.post(f"/api/v1/programs/{program_id}/mentees", json={"mentee_id": created.json()["id"]})
        assert enrolled.status_code == 200, enrolled.text
        profiles.append(profile)
        mentee_ids.append(created.json()["id"])
    markers = [value for profile in profiles for value in (profile["given_name"], profile["family_name"], profile["email"])]
    # The markers are real: the owning partner reads them.
    assert profiles[0]["email"] in alice.get(f"/api/v1/mentees/{mentee_ids[0]}").text

    # The employers' mentors reach the NGO's view of the pool (each instance's index catches up).
    wait_for(lambda: set(mentor_ids) <= {m["id"] for m in alice.get("/api/v1/mentors", params={"limit": 200}).json()["items"]},
             message="the pooled mentors in the NGO's search")

    # Two runs of one programme at once: one starts, the other is refused.
    answers = [None, None]
    start = threading.Barrier(2)

    def start_run(k):
        start.wait()
        answers[k] = (alice if k == 0 else bob).post(f"/api/v1/programs/{program_id}/matching-runs")

    threads = [threading.Thread(target=start_run, args=(k,)) for k in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [202, 409], [a.text for a in answers]
    run_id = next(answer.json()["id"] for answer in answers if answer.status_code == 202)

    def finished():
        run = alice.get(f"/api/v1/matching-runs/{run_id}").json()
        return run if run["status"] in ("completed", "failed") else None

    run = wait_for(finished, timeout=120, message="the run to finish")
    assert run["status"] == "completed", run.get("problem")
    assert sorted(m for group in run["result"]["groups"] for m in group["mentee_ids"]) == sorted(mentee_ids)

    # The proposals, each with its explanation, and nothing personal.
    listed = alice.get("/api/v1/groups", params={"run_id": run_id, "limit": 200})
    assert listed.status_code == 200, listed.text
    proposals = listed.json()["items"]
    assert len(proposals) == 3 and {p["mentor_id"] for p in proposals} == set(mentor_ids)
    for proposal in proposals:
        assert proposal["status"] == "proposed" and proposal["program_id"] == program_id and proposal["partner_id"] == ngo_id
        assert proposal["mentor_partner_id"] == partner_of[proposal["mentor_id"]]
        assert proposal["common"]["language"] == "en" and proposal["common"]["slot"] == "tue_evening"
        assert [m["mentee_id"] for m in proposal["members"]] == proposal["mentee_ids"]
        assert all(m["criteria"] and m["breakdown"] for m in proposal["members"])
    assert not [marker for marker in markers if marker.lower() in listed.text.lower()]

    # Four eyes on each proposal.
    for proposal in proposals:
        path = f"/api/v1/groups/{proposal['id']}"
        read = alice.get(path)
        assert read.status_code == 200 and read.headers["ETag"] == f'"{read.json()["version"]}"'
        tampered = alice.post(f"{path}/approvals", json={"status": "approved", "approvals": []})
        assert tampered.status_code == 422 and set(tampered.json()["errors"]) == {"status", "approvals"}
        first = alice.post(f"{path}/approvals", headers={"If-Match": read.headers["ETag"]})
        assert first.status_code == 200, first.text
        assert first.json()["status"] == "proposed" and first.json()["reserved"] is True
        again = alice.post(f"{path}/approvals")
        assert again.status_code == 409 and again.headers["Content-Type"] == "application/problem+json"
        assert "approvals" in again.json()["errors"]
        second = bob.post(f"{path}/approvals")
        assert second.status_code == 200, second.text
        assert second.json()["status"] == "approved"
        approvers = [approval["staff_id"] for approval in second.json()["approvals"]]
        assert len(approvers) == len(set(approvers)) == 2

    statuses = {m["id"]: m["status"] for m in alice.get("/api/v1/mentees", params={"program_id": program_id, "limit": 200}).json()["items"]}
    assert statuses == {mentee_id: "matched" for mentee_id in mentee_ids}
    # Each mentor's one place is taken (a confirmed hold, as the mentor bank shows it to its recruiter).
    for (employer_id, clients), owned in ((employers[0], mentor_ids[:2]), (employers[1], mentor_ids[2:])):
        for mentor_id in owned:
            assert clients["admin"].get(f"/api/v1/mentors/{mentor_id}").json()["places_left"] == 0
    holds = {m["_id"]: m["holds"] for m in platform.database("mentor_bank").mentors.find({"_id": {"$in": mentor_ids}})}
    assert sorted((h["proposal_id"], h["status"]) for hs in holds.values() for h in hs) == sorted((p["id"], "confirmed") for p in proposals)

    # Reporting counts the approved groups, all three pooled (another partner's mentor).
    counts = lambda: platform.rpc("reporting", "coalition_counts", ngo_id, identity=operator("flow-test"))
    wait_for(lambda: counts()["group.approved"] == 3, message="reporting heard of the approvals")
    assert counts()["group.approved.pooled"] == 3

    # Done-when 4: no event, log line or exported span names a mentee or holds their email.
    events = tap.drain()
    kinds = {event["routing_key"] for event in events}
    assert {"mentee.enrolled", "group.proposed", "group.approved", "matching.completed"} <= kinds, kinds
    approved = [json.loads(e["body"]) for e in events if e["routing_key"] == "group.approved"]
    assert sorted(m for e in approved for m in e["mentee_ids"]) == sorted(mentee_ids)  # pseudonymous ids only
    logs = {path.name: path.read_text(errors="replace") for path in pathlib.Path(platform.log_dir).glob("*.log")}
    assert {"matching.log", "gateway.log", "mentor_bank.log"} <= set(logs)
    wait_for(lambda: any(s["service"] == "matching" and s["name"] == "matching.approve_group" for s in otlp.snapshot()),
             message="the approvals' spans exported")
    spans = repr(otlp.snapshot())
    # The scan looks where ids do show: a mentee's pseudonymous id is in the events and in the span
    # of the request that read the mentee.
    assert mentee_ids[0] in json.dumps(events) and mentee_ids[0] in spans
    found = [(where, marker) for marker in markers
             for where, text in [("events", json.dumps(events))] + [(name, text) for name, text in logs.items()] + [("spans", spans)]
             if marker.lower() in text.lower()]
    assert found == []
