"""Schema-driven fuzzing of the whole API with schemathesis: no 5xx, and no response that breaks
the schema the API publishes for it."""
import os
import subprocess

import pytest

from harness import ROOT

pytestmark = pytest.mark.e2e

ADMIN_KEY = "fuzz-admin-" + "f" * 40


@pytest.fixture(scope="module")
def fuzz_platform(platform_factory):
    fuzzed = platform_factory("fuzz", ("registry", "mentor_bank", "matching", "reporting", "gateway"),
                              env={"RATE_LIMIT_PER_MINUTE": "100000", "WEBHOOK_ALLOW_PRIVATE": "true"})
    fuzzed.rpc("registry", "bootstrap_admin", ADMIN_KEY)
    from gateway import demo

    credentials = demo.seed(fuzzed.rpc)
    fuzzed.partner_admin_key = next(c["key"] for c in credentials if "partner_admin" in c["roles"])
    return fuzzed


@pytest.mark.parametrize("who", ["coalition_admin", "partner_admin"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(fuzz_platform, tmp_path, who):
    key = ADMIN_KEY if who == "coalition_admin" else fuzz_platform.partner_admin_key
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"{fuzz_platform.gateway_url}/api/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples", os.environ.get("FUZZ_EXAMPLES", "20"),
        "--phases", "examples,coverage,fuzzing",
        "--seed", "20261125", "--generation-deterministic",
        "--request-timeout", "10", "--workers", "2", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=tmp_path,
                            env=dict(os.environ, PYTHONWARNINGS="ignore"))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
