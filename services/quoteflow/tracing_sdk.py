"""Tracing on: OpenTelemetry SDK spans exported over OTLP/HTTP (protobuf).

Imported only when a service names a collector (tracing.configure). Spans follow the
OpenTelemetry semantic conventions: an HTTP server span per request, an HTTP client
span per upstream call, database client spans for the ledger; quoteflow.* attributes
for what is ours (product, model, version, color). tracing.handle sends only the
requests it keeps here (a caller's sampled flag, or the ratio), so every span made is
kept (ParentBased(ALWAYS_ON)), and the shadow call of a kept quote is kept with it. The
decision is taken before the answer is known: the SDK cannot keep every error or
over-budget answer (a collector's tail sampling can, at 100% head sampling).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import Link, SpanContext, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from quoteflow.tracing import (
    CURRENT,
    REQUEST_ID_HEADER,
    A,
    Current,
    TracingSettings,
    header,
    run_as,
)

KINDS = {"internal": SpanKind.INTERNAL, "client": SpanKind.CLIENT}
_PROPAGATOR = TraceContextTextMapPropagator()


@functools.lru_cache(maxsize=256)
def _server(url: str) -> dict[str, Any]:
    u = urlsplit(url)
    return {"http.request.method": "POST", "server.address": u.hostname or "",
            "server.port": u.port or 80, "url.full": url}


def _hex(trace_id: int) -> str:
    return format(trace_id, "032x")


class ClientCall:
    """One upstream call's client span and the header lines that carry it on."""

    __slots__ = ("headers", "span")

    def __init__(self, span: trace.Span) -> None:
        self.span = span
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
        self.headers = "".join(f"{k}: {v}\r\n" for k, v in carrier.items()).encode()

    def end(self, status: int | None, error: str | None = None) -> None:
        if status is not None:
            self.span.set_attribute("http.response.status_code", status)
            if status >= 400:  # semantic conventions: a client span's 4xx is an error
                error = error or str(status)
        if error is not None:
            self.span.set_attribute("error.type", error)
            self.span.set_status(StatusCode.ERROR)
        self.span.end()


class Tracing:
    def __init__(self, service: str, settings: TracingSettings,
                 resource: dict[str, str]) -> None:
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": f"quoteflow-{service}",
                                      "service.namespace": "quoteflow", **resource}),
            sampler=ParentBased(ALWAYS_ON))
        self.ratio = settings.sample_ratio
        self.provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=settings.otlp_endpoint, timeout=5),
            schedule_delay_millis=settings.export_delay_ms))
        self.tracer = self.provider.get_tracer("quoteflow")

    def shutdown(self) -> None:
        self.provider.shutdown()  # flushes the batch still queued

    async def serve(self, scope: Mapping[str, Any],
                    run: Callable[[], Awaitable[A]]) -> A:
        headers = scope["headers"]
        carrier = {k: v.decode("latin-1") for k in ("traceparent", "tracestate")
                   if (v := header(headers, k.encode())) is not None}
        path = scope["path"]
        client = scope.get("client")
        attrs: dict[str, Any] = {"http.request.method": scope["method"], "url.path": path,
                                 "http.route": path, "url.scheme": scope.get("scheme", "http"),
                                 "network.protocol.version": scope.get("http_version", "1.1")}
        if client:
            attrs["client.address"] = client[0]
        with self.tracer.start_as_current_span(
                f"{scope['method']} {path}", context=_PROPAGATOR.extract(carrier),
                kind=SpanKind.SERVER, attributes=attrs,
                record_exception=True, set_status_on_exception=True) as span:
            trace_id = _hex(span.get_span_context().trace_id)
            answer = await run_as(Current(trace_id, sampled=True), scope, run)
            span.set_attribute("http.response.status_code", answer.status_code)
            if answer.status_code >= 500:  # a server span's 4xx is the caller's
                span.set_attribute("error.type", str(answer.status_code))
                span.set_status(StatusCode.ERROR)
        answer.raw_headers.append((REQUEST_ID_HEADER, trace_id.encode()))
        return answer

    def client_call(self, method: str, url: str,
                    attributes: Mapping[str, Any] | None) -> ClientCall:
        attrs = {**_server(url), "http.request.method": method, **(attributes or {})}
        return ClientCall(self.tracer.start_span(method, kind=SpanKind.CLIENT,
                                                 attributes=attrs))

    def span(self, name: str, attributes: Mapping[str, Any] | None,
             kind: str) -> AbstractContextManager[Any]:
        return self.tracer.start_as_current_span(name, kind=KINDS[kind],
                                                 attributes=dict(attributes or {}))

    def annotate(self, attributes: Mapping[str, Any]) -> None:
        trace.get_current_span().set_attributes(dict(attributes))

    def capture(self) -> object:
        return trace.get_current_span().get_span_context()

    @contextmanager
    def follow(self, captured: object, name: str,
               attributes: Mapping[str, Any] | None) -> Iterator[None]:
        """A kept request's later work: a new trace, linked to the request's span."""
        if not isinstance(captured, SpanContext) or not captured.is_valid:
            yield
            return
        with self.tracer.start_as_current_span(name, context=Context(),
                                               links=[Link(captured)],
                                               attributes=dict(attributes or {})):
            token = CURRENT.set(Current(_hex(captured.trace_id), sampled=True))
            try:
                yield
            finally:
                CURRENT.reset(token)
