"""tracing.py: the request id, W3C traceparent parsing and passing on, the off path's
promise (no SDK, no span), the head decision, and the trace id in the JSON logs."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from quoteflow import tracing
from quoteflow.logs import JsonFormatter
from tests.otlp_receiver import OtlpReceiver

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


@pytest.mark.parametrize("value, expected", [
    (f"00-{TRACE}-{PARENT}-01", (TRACE, PARENT, "01")),
    (f" 00-{TRACE}-{PARENT}-00 ", (TRACE, PARENT, "00")),
    (f"01-{TRACE}-{PARENT}-01-later", (TRACE, PARENT, "01")),  # a later version: read on
])
def test_a_valid_traceparent_is_read(value: str, expected: tuple[str, str, str]) -> None:
    assert tracing.parse_traceparent(value) == expected


@pytest.mark.parametrize("value", [
    "", "garbage", f"00-{TRACE}-{PARENT}", f"00-{TRACE}-{PARENT}-01-extra",
    f"ff-{TRACE}-{PARENT}-01", f"00-{'0' * 32}-{PARENT}-01", f"00-{TRACE}-{'0' * 16}-01",
    f"00-{TRACE.upper()}-{PARENT}-01", f"00-{TRACE[:-1]}x-{PARENT}-01",
])
def test_a_malformed_traceparent_starts_a_new_trace(value: str) -> None:
    assert tracing.parse_traceparent(value) is None


class FakeAnswer:
    def __init__(self) -> None:
        self.status_code = 200
        self.raw_headers: list[tuple[bytes, bytes]] = []

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.raw_headers}


def handled(headers: list[tuple[bytes, bytes]]) -> tuple[FakeAnswer, dict[str, Any]]:
    seen: dict[str, Any] = {}

    async def run() -> FakeAnswer:
        seen["trace_id"] = tracing.trace_id()
        call = tracing.client_call("POST", "http://x/y")
        seen["outgoing"] = call.headers
        call.end(200)
        return FakeAnswer()

    scope = {"type": "http", "method": "POST", "path": "/v1/quote", "headers": headers}
    answer = asyncio.run(tracing.handle(scope, run))
    return answer, seen


def test_off_the_callers_context_is_the_request_id_and_passed_on_unchanged() -> None:
    assert not tracing.enabled()
    tp = f"00-{TRACE}-{PARENT}-01".encode()
    answer, seen = handled([(b"traceparent", tp), (b"tracestate", b"a=1")])
    assert answer.headers["x-request-id"] == TRACE == seen["trace_id"]
    assert seen["outgoing"] == b"traceparent: %s\r\ntracestate: a=1\r\n" % tp
    assert tracing.trace_id() is None  # only while the request is handled


def test_off_a_request_without_context_gets_a_new_unsampled_trace() -> None:
    answer, seen = handled([(b"traceparent", b"not-one")])
    trace_id = answer.headers["x-request-id"]
    assert len(trace_id) == 32 and trace_id == seen["trace_id"]
    parsed = tracing.parse_traceparent(seen["outgoing"].decode().split(": ")[1].strip())
    assert parsed is not None and parsed[0] == trace_id and parsed[2] == "00"
    assert handled([])[0].headers["x-request-id"] != trace_id


def test_off_no_span_is_made_and_the_sdk_is_never_imported() -> None:
    """A preprocess app answers a traced request in a fresh interpreter: the request id
    comes back, and no OpenTelemetry SDK module was ever loaded (so no span exists)."""
    code = textwrap.dedent(f"""
        import sys
        from fastapi.testclient import TestClient
        from quoteflow.preprocess.app import create_app
        from quoteflow.preprocess.settings import Settings
        with TestClient(create_app(Settings())) as client:
            r = client.post("/v1/features", content=b"{{}}",
                            headers={{"content-type": "application/json",
                                     "traceparent": "00-{TRACE}-{PARENT}-01"}})
        print(r.status_code, r.headers["x-request-id"],
              sorted(m for m in sys.modules if m.startswith("opentelemetry.sdk")))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()
    assert out == ["422", TRACE, "[]"]


def test_on_only_kept_requests_make_spans() -> None:
    """The head decision comes first: a caller's flag, else the ratio (0 here); a request
    not kept takes the off path (flag 00 passed on), a kept one is exported."""
    with OtlpReceiver() as receiver:
        tracing.configure("router", tracing.TracingSettings(
            otlp_endpoint=receiver.url, sample_ratio=0.0, export_delay_ms=10))
        try:
            answer, seen = handled([])
            assert seen["outgoing"].endswith(b"-00\r\n")
            answer, seen = handled([(b"traceparent", f"00-{TRACE}-{PARENT}-00".encode())])
            assert seen["outgoing"] == f"traceparent: 00-{TRACE}-{PARENT}-00\r\n".encode()
            answer, seen = handled([(b"traceparent", f"00-{TRACE}-{PARENT}-01".encode())])
            assert answer.headers["x-request-id"] == TRACE
            sent = tracing.parse_traceparent(seen["outgoing"].decode().split(": ")[1].strip())
            assert sent is not None and sent[0] == TRACE and sent[2] == "01"
        finally:
            tracing.shutdown()  # flushes
        spans = receiver.wait_for(lambda ss: len(ss) >= 2)
    assert sorted((s.name, s.trace_id) for s in spans) == [("POST", TRACE),
                                                           ("POST /v1/quote", TRACE)]
    server = next(s for s in spans if s.name == "POST /v1/quote")
    client = next(s for s in spans if s.name == "POST")
    assert server.parent_id == PARENT and client.parent_id == server.span_id
    assert sent[1] == client.span_id  # the callee's parent is our client span
    assert not tracing.enabled()


def test_a_log_line_written_for_a_request_carries_its_trace_id() -> None:
    fmt = JsonFormatter("router")
    record = logging.LogRecord("quoteflow.x", logging.WARNING, __file__, 1, "hello", None, None)
    assert "trace_id" not in json.loads(fmt.format(record))
    token = tracing.CURRENT.set(tracing.Current(TRACE))
    try:
        assert json.loads(fmt.format(record))["trace_id"] == TRACE
    finally:
        tracing.CURRENT.reset(token)


def test_settings_refuse_a_bad_endpoint_or_ratio() -> None:
    with pytest.raises(ValueError, match="otlp_endpoint"):
        tracing.TracingSettings(otlp_endpoint="collector:4318")
    with pytest.raises(ValueError, match="sample_ratio"):
        tracing.TracingSettings(sample_ratio=1.5)
