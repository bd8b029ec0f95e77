"""A stand-in for an OpenTelemetry collector, in the test's own process.

It is not a collector: an HTTP server that accepts what a collector's OTLP/HTTP
receiver accepts (POST /v1/traces, application/x-protobuf), decodes each body with
the real opentelemetry-proto message (ExportTraceServiceRequest), answers with an
ExportTraceServiceResponse, and keeps the spans for the test to read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue


@dataclass(frozen=True)
class Span:
    service: str  # the resource's service.name
    resource: dict[str, Any]
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    name: str
    kind: int  # opentelemetry.proto.trace.v1.Span.SpanKind
    attributes: dict[str, Any]
    links: list[tuple[str, str]]  # (trace id, span id) of each linked span
    error: bool  # status code ERROR


def _value(v: AnyValue) -> Any:
    which = v.WhichOneof("value")
    return None if which is None else getattr(v, which)


def _attrs(kvs: list[KeyValue]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


def decode(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    out = []
    for rs in request.resource_spans:
        resource = _attrs(list(rs.resource.attributes))
        for ss in rs.scope_spans:
            for s in ss.spans:
                out.append(Span(
                    str(resource.get("service.name")), resource, s.trace_id.hex(),
                    s.span_id.hex(), s.parent_span_id.hex(), s.name, s.kind,
                    _attrs(list(s.attributes)),
                    [(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                    s.status.code == s.status.STATUS_CODE_ERROR))
    return out


class OtlpReceiver:
    def __init__(self) -> None:
        self._spans: list[Span] = []
        self._lock = threading.Lock()
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                ok = (self.path == "/v1/traces" and
                      self.headers.get("content-type") == "application/x-protobuf")
                if ok:
                    spans = decode(body)
                    with receiver._lock:
                        receiver._spans += spans
                        receiver.requests += 1
                answer = ExportTraceServiceResponse().SerializeToString() if ok else b""
                self.send_response(200 if ok else 415)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def spans(self) -> list[Span]:
        with self._lock:
            return list(self._spans)

    def wait_for(self, found: Callable[[list[Span]], bool], timeout: float = 20.0) -> list[Span]:
        """The spans once ``found`` says they are all there (AssertionError after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if found(spans):
                return spans
            if time.monotonic() > deadline:
                raise AssertionError(f"spans not all received in {timeout}s: "
                                     f"{[(s.service, s.name) for s in spans]}")
            time.sleep(0.1)

    def __enter__(self) -> OtlpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
