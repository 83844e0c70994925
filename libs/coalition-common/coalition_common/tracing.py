"""Tracing set up only from the standard OTEL_* environment variables.

OTEL_SERVICE_NAME names the process; OTEL_TRACES_EXPORTER picks exporters ("otlp", "console",
"none"); OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_PROTOCOL configure OTLP. With no exporter
configured nothing is exported and nothing is printed. OTEL_SDK_DISABLED=true turns it all off.
"""
import os

from nameko.extensions import DependencyProvider
from opentelemetry import trace

_configured = False
_instrumented = False


def _exporter_names():
    names = os.environ.get("OTEL_TRACES_EXPORTER")
    if names is None:
        # The SDK's default is "otlp"; we only export when an endpoint says where to.
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return ["otlp"] if endpoint else []
    return [n.strip() for n in names.split(",") if n.strip() and n.strip() != "none"]


def _load_exporter(name):
    # Exporters register themselves under this entry-point group, as the SDK's own
    # auto-configuration expects; this keeps OTEL_EXPORTER_OTLP_PROTOCOL meaningful.
    from importlib.metadata import entry_points

    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if name == "otlp" and protocol != "http/protobuf":
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol} is not installed; use http/protobuf")
    if name == "otlp":
        name = "otlp_proto_http"
    (entry_point,) = entry_points(group="opentelemetry_traces_exporter", name=name)
    return entry_point.load()()


def configure_tracing(default_service_name):
    """Install the tracer provider once per process. Returns True when spans are exported."""
    global _configured
    if _configured:
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    names = _exporter_names()
    if not names:
        return False

    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    service_name = os.environ.get("OTEL_SERVICE_NAME", default_service_name)
    resource = Resource.create({"service.name": service_name}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_load_exporter(name)))
    trace.set_tracer_provider(provider)
    _configured = True
    return True


def instrument_service():
    """Instrument nameko and pymongo inside a service process. Payloads are never recorded:
    they may hold personal data."""
    global _instrumented
    if _instrumented:
        return
    _instrumented = True
    from nameko_opentelemetry import NamekoInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    NamekoInstrumentor().instrument(
        send_headers=False,
        send_request_payloads=False,
        send_response_payloads=False,
        entrypoint_adapters={
            "coalition_common.events.ReliableEventHandler": (
                "nameko_opentelemetry.events.EventHandlerEntrypointAdapter"
            )
        },
    )
    PymongoInstrumentor().instrument()


def flush():
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush()


def setup_service_tracing(service_name):
    """Idempotent. Called before any MongoClient is made: pymongo's instrumentation only sees
    clients created after it is installed."""
    if configure_tracing(service_name):
        instrument_service()


class Tracing(DependencyProvider):
    """Declared once on each service class, so `nameko run` sets tracing up before any
    entrypoint fires. It injects nothing."""

    def setup(self):
        setup_service_tracing(self.container.service_name)

    def stop(self):
        flush()

    def get_dependency(self, worker_ctx):
        return None
