"""Readiness follows the services: a killed service turns /readyz red by name, quickly."""
import time

import pytest

from harness import wait_for

pytestmark = pytest.mark.e2e


def test_killing_a_service_fails_readyz_by_name_and_healthz_stays_up(platform, api):
    assert api().get("/readyz").status_code == 200
    platform.stack.kill("mentor_bank")
    try:
        started = time.monotonic()
        response = None
        while time.monotonic() - started < 3.0:
            response = api().get("/readyz", timeout=5)
            if response.status_code == 503:
                break
        assert response.status_code == 503, "readyz did not turn red within 3 s"
        body = response.json()
        assert body["failed"] == ["mentor_bank"]
        assert body["checks"]["registry"] == "ok"
        assert api().get("/healthz").status_code == 200
    finally:
        platform.start("mentor_bank")
    # /readyz answers from a result at most 1 s old: green again within a round or two.
    wait_for(lambda: api().get("/readyz").status_code == 200, timeout=5, message="readyz green again")
