import os
import subprocess
import sys


def run_configure(env):
    code = "from coalition_common.tracing import configure_tracing; print(configure_tracing('unit'))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, capture_output=True, text=True, timeout=60)
    return result.stdout.strip(), result.stderr


def test_no_exporter_configured_means_no_tracing_and_no_output():
    out, err = run_configure({})
    assert out == "False"
    assert "span" not in err.lower()


def test_an_otlp_endpoint_turns_export_on():
    out, _ = run_configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"})
    assert out == "True"


def test_sdk_disabled_wins():
    out, _ = run_configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_SDK_DISABLED": "true"})
    assert out == "False"
