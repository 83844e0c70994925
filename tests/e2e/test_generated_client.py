"""Partners' IT teams generate clients from /api/openapi.json. A client generated with
openapi-python-client must parse the answer of every GET, nested objects typed as models (not
left as plain dicts, as a nullable nested schema once made them)."""
import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import time
import urllib.parse

import attrs
import pytest
import requests

from harness import ROOT

pytestmark = pytest.mark.e2e


def untyped(value, path="answer"):
    """Where a parsed answer still holds a plain dict (an object the generator could not type)."""
    if isinstance(value, dict):
        return [path]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in untyped(item, f"{path}[{i}]")]
    if attrs.has(type(value)):
        return [p for f in attrs.fields(type(value)) if f.name != "additional_properties"
                for p in untyped(getattr(value, f.name), f"{path}.{f.name}")]
    return []


@pytest.fixture(scope="module")
def client_package(platform, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    (out / "openapi.json").write_text(requests.get(platform.gateway_url + "/api/openapi.json", timeout=10).text)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "openapi-python-client"), "generate", "--path", "openapi.json",
         "--output-path", "coalition_client", "--meta", "none"],
        cwd=out, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PATH=f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    sys.path.insert(0, str(out))
    yield importlib.import_module("coalition_client")
    sys.path.remove(str(out))


def get_operations(package):
    """Every generated GET operation: (module, url template) found through its own request builder."""
    api = importlib.import_module(f"{package.__name__}.api")
    for info in pkgutil.walk_packages(api.__path__, prefix=f"{api.__name__}."):
        module = importlib.import_module(info.name)
        if not hasattr(module, "sync_detailed"):
            continue
        names = list(inspect.signature(module._get_kwargs).parameters)
        if "body" in names:
            continue  # takes a request body: not a read
        built = module._get_kwargs(**{name: f"{{{name}}}" for name in names})
        if built["method"].lower() == "get":
            yield module, urllib.parse.unquote(built["url"]), names


def proposal(platform, partner_id):
    """A proposal with an explanation, as a matching run writes it."""
    import datetime

    from coalition_common.ids import new_id, utcnow

    run_id, now = new_id(), utcnow()
    member = {"mentee_id": new_id(), "score": 1.5, "breakdown": {"occupation": 1.0, "waiting_time": 0.5}, "criteria": ["same ISCO-08 unit group 2142"]}
    platform.database("matching").groups.insert_one({
        "_id": f"{run_id}-0001", "program_id": new_id(), "partner_id": partner_id, "run_id": run_id, "mentor_id": new_id(),
        "mentor_partner_id": partner_id, "mentee_ids": [member["mentee_id"]], "rule_set": "engineering", "score": 1.5,
        "common": {"language": "en", "slot": "tue_evening", "mode": "virtual", "region": None}, "members": [member],
        "status": "proposed", "approvals": [], "reserved": False, "expires_at": now + datetime.timedelta(days=14), "version": 1,
        "created_at": now, "outbox": []})
    return f"{run_id}-0001"


def test_a_generated_client_parses_every_get_with_nested_objects_typed(client_package, api, admin_key, demo, platform):
    lucia = api(next(c["key"] for c in demo if "partner_admin" in c["roles"]))
    me = lucia.get("/api/v1/me").json()
    ids = {
        "partner_id": me["partner"]["id"],
        "staff_id": me["staff"]["id"],
        "program_id": lucia.post("/api/v1/programs", json={"name": "Generated", "start_date": "2027-05-01"}).json()["id"],
        "webhook_id": lucia.post(f"/api/v1/partners/{me['partner']['id']}/webhooks",
                                 json={"url": "https://127.0.0.1:9/gen", "event_types": ["mentee.enrolled"]}).json()["id"],
    }
    ids["mentor_id"] = next(m["id"] for m in lucia.get("/api/v1/mentors").json()["items"] if m["own"])
    template = lucia.get("/api/v1/mentors/imports/template").text
    imported = lucia.post("/api/v1/mentors/imports", data=template.encode(), headers={"Content-Type": "text/csv"})
    assert imported.status_code in (200, 201, 202), imported.text
    ids["import_id"] = imported.json()["id"]
    ids["group_id"] = proposal(platform, me["partner"]["id"])
    # A real run (of a programme with no waiting mentees), read once it has a result.
    started = lucia.post(f"/api/v1/programs/{ids['program_id']}/matching-runs")
    assert started.status_code == 202, started.text
    ids["run_id"] = started.json()["id"]
    for _ in range(120):
        if lucia.get(f"/api/v1/matching-runs/{ids['run_id']}").json()["status"] in ("completed", "failed"):
            break
        time.sleep(0.5)
    ids["mentee_id"] = next(m["id"] for m in lucia.get("/api/v1/mentees").json()["items"])
    mentee_template = lucia.get("/api/v1/mentees/imports/template").text
    ids["mentee_import_id"] = lucia.post("/api/v1/mentees/imports", data=mentee_template.encode(), headers={"Content-Type": "text/csv"}).json()["id"]
    client = client_package.AuthenticatedClient(base_url=api().base_url, token=admin_key)
    # The partner's own mentor records and files are its staff's alone, not the coalition admin's.
    partner_client = client_package.AuthenticatedClient(base_url=api().base_url, token=next(c["key"] for c in demo if "partner_admin" in c["roles"]))
    partner_only = {"/api/v1/mentors/{mentor_id}/sharing", "/api/v1/mentors/imports/{import_id}",
                    "/api/v1/groups", "/api/v1/groups/{group_id}",
                    # Matching a programme is its own partner's business.
                    "/api/v1/programs/{program_id}/matching-settings", "/api/v1/matching-runs/{run_id}",
                    "/api/v1/mentors/imports/template", "/api/v1/mentors/export.csv",
                    # Mentees are their own partner's runners' alone.
                    "/api/v1/mentees", "/api/v1/mentees/{mentee_id}", "/api/v1/mentees/imports/{mentee_import_id}",
                    "/api/v1/mentees/imports/template"}
    csv_answers = {"/api/v1/mentors/imports/template", "/api/v1/mentors/export.csv", "/api/v1/mentees/imports/template"}
    tried = []
    for module, url, names in get_operations(client_package):
        arguments = {name: ids[name] for name in names if name in ids}
        response = module.sync_detailed(client=partner_client if url in partner_only else client, **arguments)
        tried.append(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        if url in csv_answers:
            assert response.content.decode("utf-8-sig").splitlines()[0].startswith(("external_id", "given_name")), url
            continue
        assert attrs.has(type(response.parsed)), (url, type(response.parsed))
        assert untyped(response.parsed) == [], url
    # The caller's partner came back as a typed model, not as a dict or nothing.
    me_module = next(m for m, url, _ in get_operations(client_package) if url == "/api/v1/me")
    partner = me_module.sync_detailed(client=client_package.AuthenticatedClient(
        base_url=api().base_url, token=next(c["key"] for c in demo if "partner_admin" in c["roles"]))).parsed.partner
    assert type(partner).__name__ == "Partner"
    assert {"/api/v1/me", "/api/v1/partners/{partner_id}", "/api/v1/staff/{staff_id}/keys", "/api/v1/mentors",
            "/api/v1/dead-letters"} <= set(tried)
