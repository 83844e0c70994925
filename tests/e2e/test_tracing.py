"""One request, one trace: gateway → RPC → service → pymongo, and on through events."""
import pytest

from harness import wait_for

pytestmark = pytest.mark.e2e

SPAN_KIND_CLIENT = 3


def trace_of(otlp, request_id_span_filter):
    spans = otlp.snapshot()
    roots = [s for s in spans if request_id_span_filter(s)]
    return roots, spans


def test_one_request_gives_one_trace_across_gateway_registry_and_mongo(api, admin_key, otlp):
    response = api(admin_key).get("/api/v1/me", headers={"X-Request-ID": "trace-test-me"})
    assert response.status_code == 200

    def complete_trace():
        spans = otlp.snapshot()
        servers = [s for s in spans if s["service"] == "gateway" and s["attributes"].get("http.route") == "/api/v1/me"]
        for server in servers:
            same = [s for s in spans if s["trace_id"] == server["trace_id"]]
            services = {s["service"] for s in same}
            has_rpc_client = any(s["service"] == "gateway" and s["kind"] == SPAN_KIND_CLIENT and "RPC to registry" in s["name"] for s in same)
            has_entrypoint = any(s["service"] == "registry" and s["name"] == "registry.describe" for s in same)
            has_mongo = any(s["service"] == "registry" and s["attributes"].get("db.system") == "mongodb" for s in same)
            if {"gateway", "registry"} <= services and has_rpc_client and has_entrypoint and has_mongo:
                return same
        return None

    same = wait_for(complete_trace, timeout=20, message="a complete /api/v1/me trace")
    assert len({s["trace_id"] for s in same}) == 1


def test_an_event_continues_the_trace_in_its_consumer(api, admin_key, otlp):
    response = api(admin_key).post("/api/v1/partners", json={"name": "Traced Partner", "kind": "public_body", "region": "CA-QC"})
    assert response.status_code == 201

    def consumer_in_same_trace():
        spans = otlp.snapshot()
        servers = [s for s in spans if s["service"] == "gateway" and s["attributes"].get("http.route") == "/api/v1/partners"
                   and s["attributes"].get("http.method", s["attributes"].get("http.request.method")) == "POST"]
        for server in servers:
            same = [s for s in spans if s["trace_id"] == server["trace_id"]]
            if any(s["service"] == "reporting" and s["name"] == "reporting.record_partner_registered" for s in same):
                return same
        return None

    same = wait_for(consumer_in_same_trace, timeout=20, message="the reporting consumer span in the request's trace")
    assert {"gateway", "registry", "reporting"} <= {s["service"] for s in same}


def test_traces_carry_no_personal_data(api, demo, otlp):
    key = next(c["key"] for c in demo if c["partner"] == "ngo")
    assert api(key).get("/api/v1/me").status_code == 200
    wait_for(lambda: any(s["service"] == "registry" and s["name"] == "registry.describe" for s in otlp.snapshot()), message="spans")
    exported = repr(otlp.snapshot())
    for secret in ("tomas.novak@harbour.example", "Tomas Novak", key):
        assert secret not in exported
