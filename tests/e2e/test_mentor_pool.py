"""Pooling across partners, through the API: another partner sees a mentor only when the mentor
consented to coalition sharing and both partners accepted the charter, and then only the pooled
fields; withdrawal hides the mentor at once; erasure leaves no trace of the person anywhere."""
import json
import uuid

import pytest

from coalition_common.identity import operator

from harness import wait_for
from profiles import CONSENT, WITHDRAWN, make_ready, mentor_profile

pytestmark = pytest.mark.e2e

PERSONAL_KEYS = ("given_name", "family_name", "email", "phone", "employer", "city", "gender", "age_band", "external_id",
                 "self_assessment", "alumni_mentee_id")


def new_partner(admin, api, label, kind="employer"):
    partner = admin.post("/api/v1/partners", json={"name": f"Pool {label} {uuid.uuid4().hex[:6]}", "kind": kind, "region": "CA-ON"}).json()
    staff = admin.post(f"/api/v1/partners/{partner['id']}/staff", json={
        "name": f"{label} admin", "email": f"{uuid.uuid4().hex[:8]}@{label}.example",
        "roles": ["partner_admin", "coordinator", "recruiter"]}).json()
    return {"id": partner["id"], "client": api(admin.enrol(staff))}


def person(label):
    """A mentor whose personal details are unique strings, easy to look for anywhere."""
    tag = uuid.uuid4().hex[:8]
    return mentor_profile(given_name=f"Given{label}{tag}".replace("0", "a"), family_name=f"Family{label}{tag}".replace("0", "b"),
                          email=f"{label.lower()}.{tag}@pool.example", phone="+14165550" + str(100 + len(label)),
                          employer=f"Employer {tag}", city=f"City{tag}", gender="woman", age_band="40-49",
                          external_id=f"ext-{tag}", occupations=["2142"], sectors=["21"])


def register(side, profile, ready=True, consent=True):
    client = side["client"]
    answer = client.post("/api/v1/mentors", json=profile)
    assert answer.status_code == 201, answer.text
    mentor_id = answer.json()["id"]
    if ready:
        def step(method, _, payload):
            path, verb = {"record_screening": ("screening", "PUT"), "record_orientation": ("orientation", "PUT"),
                          "change_status": ("status", "POST")}[method]
            response = client.request(verb, f"/api/v1/mentors/{mentor_id}/{path}", json=payload)
            assert response.status_code == 200, response.text
        make_ready(step, mentor_id)
    if consent:
        assert client.request("PUT", f"/api/v1/mentors/{mentor_id}/sharing", json=CONSENT).status_code == 200
    return mentor_id


def search(client, **filters):
    answer = client.get("/api/v1/mentors", params={"limit": 200, **filters})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def ids_of(items, partner_id):
    return {m["id"] for m in items if m["partner_id"] == partner_id}


def accept(side):
    assert side["client"].post(f"/api/v1/partners/{side['id']}/charter", json={"version": "2026-1"}).status_code == 201


def personal_values(profile):
    return [str(profile[key]) for key in PERSONAL_KEYS if key in profile and key not in ("gender", "age_band")]


def test_pooling_needs_both_charters_and_consent_and_withdrawal_hides_at_once(api, admin_key):
    admin = api(admin_key)
    ngo, employer = new_partner(admin, api, "ngo", "ngo"), new_partner(admin, api, "employer")
    ada, ben = person("Ada"), person("Ben")
    shared = register(employer, ada)
    private = register(employer, ben, consent=False)
    assert ids_of(search(employer["client"]), employer["id"]) == {shared, private}  # a partner always sees its own
    assert ids_of(search(ngo["client"]), employer["id"]) == set()

    accept(employer)
    assert ids_of(search(ngo["client"]), employer["id"]) == set()  # the NGO has not joined
    accept(ngo)
    wait_for(lambda: ids_of(search(ngo["client"]), employer["id"]) == {shared}, message="the consenting mentor in the NGO's view")
    assert ngo["client"].get(f"/api/v1/mentors/{private}").status_code == 404
    card = ngo["client"].get(f"/api/v1/mentors/{shared}").json()
    assert not set(PERSONAL_KEYS) & set(card) and card["occupations"] == ["2142"] and card["eligible_now"] is True

    # Withdrawal: the very next search and read no longer show the mentor, with no waiting.
    assert employer["client"].request("PUT", f"/api/v1/mentors/{shared}/sharing", json=WITHDRAWN).status_code == 200
    assert ids_of(search(ngo["client"]), employer["id"]) == set()
    assert ngo["client"].get(f"/api/v1/mentors/{shared}").status_code == 404
    history = employer["client"].get(f"/api/v1/mentors/{shared}/sharing").json()["items"]
    assert [entry["scope"] for entry in history] == ["coalition", "own_partner"]


def test_no_answer_to_another_partner_or_the_coalition_admin_carries_personal_data(api, admin_key):
    admin = api(admin_key)
    owner, other = new_partner(admin, api, "owner"), new_partner(admin, api, "other", "ngo")
    accept(owner)
    accept(other)
    profiles = [person("Cyd"), person("Dee")]
    mentor_ids = [register(owner, profile) for profile in profiles]
    wait_for(lambda: ids_of(search(other["client"]), owner["id"]) == set(mentor_ids), message="pooled mentors")
    secrets = [value for profile in profiles for value in personal_values(profile)]

    bodies = []
    for client in (other["client"], admin):
        for filters in ({}, {"isco": "21"}, {"language": "en", "min_level": "B2"}, {"region": "CA-ON"}, {"mode": "virtual"},
                        {"available": "tue_evening"}, {"has_capacity": "true"}, {"eligible_now": "true"}):
            bodies.append(client.get("/api/v1/mentors", params={"limit": 200, **filters}).text)
        for mentor_id in mentor_ids:
            for method, path, body in (("GET", "", None), ("PATCH", "", {"city": "Elsewhere"}), ("GET", "/sharing", None),
                                       ("POST", "/status", {"status": "paused"}), ("PUT", "/sharing", WITHDRAWN),
                                       ("DELETE", "", None)):
                response = client.request(method, f"/api/v1/mentors/{mentor_id}{path}", json=body)
                assert method == "GET" and path == "" or response.status_code in (403, 404), (method, path, response.status_code)
                bodies.append(response.text)
        bodies.append(client.get("/api/v1/mentors/export.csv").text)
    leaked = [secret for secret in secrets for body in bodies if secret.lower() in body.lower()]
    assert leaked == []
    # The owner, by contrast, reads them in full: the secrets above are real and findable.
    assert profiles[0]["email"] in owner["client"].get(f"/api/v1/mentors/{mentor_ids[0]}").text


def scan(platform, needles):
    """Every document of every collection of every service's database, searched for `needles`."""
    found = []
    for name in platform.mongo.list_database_names():
        if not name.startswith(platform.namespace):
            continue
        database = platform.mongo[name]
        for collection in database.list_collection_names():
            for document in database[collection].find():
                text = json.dumps(document, default=str).lower()
                found += [(name, collection, needle) for needle in needles if needle.lower() in text]
    return found


def test_erasure_leaves_neither_name_nor_email_anywhere_and_reporting_still_counts_the_mentor(platform, api, admin_key):
    admin = api(admin_key)
    owner, other = new_partner(admin, api, "erasing"), new_partner(admin, api, "watching", "ngo")
    accept(owner)
    accept(other)
    profile = person("Eve")
    mentor_id = register(owner, profile)
    owner["client"].request("PATCH", f"/api/v1/mentors/{mentor_id}", json={"city": "Kingston"})
    wait_for(lambda: mentor_id in ids_of(search(other["client"]), owner["id"]), message="the mentor pooled")
    needles = [profile["given_name"], profile["family_name"], profile["email"]]
    assert scan(platform, needles), "the scan must find the person before erasure"

    coalition_admin = operator("erasure-test")
    counts = lambda: platform.rpc("reporting", "coalition_counts", owner["id"], identity=coalition_admin)
    wait_for(lambda: counts()["mentor.registered"] == 1, message="reporting heard of the mentor")

    answer = owner["client"].request("DELETE", f"/api/v1/mentors/{mentor_id}")
    assert answer.status_code == 200 and answer.json() == {"id": mentor_id, "erased": True}
    assert owner["client"].get(f"/api/v1/mentors/{mentor_id}").status_code == 404
    assert mentor_id not in ids_of(search(other["client"]), owner["id"])
    assert mentor_id not in ids_of(search(owner["client"]), owner["id"])
    assert owner["client"].request("DELETE", f"/api/v1/mentors/{mentor_id}").status_code == 404
    assert scan(platform, needles) == []
    wait_for(lambda: counts()["mentor.erased"] == 1, message="reporting heard of the erasure")
    assert counts()["mentor.registered"] == 1  # still counted once: the registration stays
    # The same address may be registered again later, as a new person with a new id.
    again = owner["client"].post("/api/v1/mentors", json=profile)
    assert again.status_code == 201 and again.json()["id"] != mentor_id
