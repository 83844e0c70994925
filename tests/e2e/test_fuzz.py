"""Schema-driven fuzzing of the whole API with schemathesis: no 5xx, and no response that breaks
the schema the API publishes for it."""
import os
import subprocess

import pytest

from harness import ROOT

pytestmark = pytest.mark.e2e

ADMIN_KEY = "fuzz-admin-" + "f" * 40


def fuzz_platform(platform_factory, who):
    """A freshly seeded coalition per run: the fuzzer finds real ids in responses and suspends,
    erases and revokes with them, so one run must not inherit another's damage."""
    fuzzed = platform_factory(f"fuzz_{who}", ("registry", "mentor_bank", "matching", "reporting", "gateway"),
                              env={"RATE_LIMIT_PER_MINUTE": "100000", "FAILED_AUTH_PER_MINUTE": "100000", "WEBHOOK_ALLOW_PRIVATE": "true"})
    fuzzed.rpc("registry", "bootstrap_admin", ADMIN_KEY)
    from gateway import demo

    credentials = demo.seed(fuzzed.rpc)
    return fuzzed, (ADMIN_KEY if who == "coalition_admin" else next(c["key"] for c in credentials if who in c["roles"]))


@pytest.mark.parametrize("who", ["coalition_admin", "partner_admin"])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(platform_factory, tmp_path, who):
    fuzzed, key = fuzz_platform(platform_factory, who)
    command = [
        str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"{fuzzed.gateway_url}/api/openapi.json",
        "--header", f"Authorization: Bearer {key}",
        "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
        "--max-examples", os.environ.get("FUZZ_EXAMPLES", "20"),
        "--phases", "examples,coverage,fuzzing",
        "--seed", "20261125", "--generation-deterministic",
        # One worker: hypothesis describes strategies with ast.parse, which CPython 3.11 does not
        # make thread-safe ("AST constructor recursion depth mismatch" with two workers).
        "--request-timeout", "10", "--workers", "1", "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=tmp_path,
                                env=dict(os.environ, PYTHONWARNINGS="ignore"))
    finally:
        fuzzed.close()  # five processes less for the rest of the suite
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
