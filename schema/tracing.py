"""OpenTelemetry tracing, behind a setting: ``XWPX_OTEL=1`` (read at start).

Each GraphQL operation becomes a span tree (the operation, parsing, validation, each
resolver: Strawberry's ``OpenTelemetryExtension``), exported in batches by OTLP over HTTP
to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (default ``http://localhost:4318``), or printed with
``OTEL_TRACES_EXPORTER=console``; the service is named by ``OTEL_SERVICE_NAME`` (default
``xwpx-graphql``). Installing: ``pip install -e '.[otel]'``. Off, nothing of it is imported.
"""

from __future__ import annotations

from core.settings import SettingsError, current

_configured = False


def extensions() -> list:
    """The schema extensions tracing adds (none when it is off)."""
    try:
        enabled = current().otel
    except SettingsError:
        enabled = False  # the server refuses to start with the settings' message
    if not enabled:
        return []
    from strawberry.extensions.tracing import OpenTelemetryExtension

    configure()
    return [OpenTelemetryExtension]


def configure() -> None:
    """The global tracer provider and its exporter (once per process)."""
    global _configured
    if _configured:
        return
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    settings = current()
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    if settings.otel_traces_exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True
