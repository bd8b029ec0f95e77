"""One quote followed across every hop (issue 28), over real HTTP: four `quoteflow serve`
processes export their spans over OTLP/HTTP to tests/otlp_receiver.py, a stand-in for
an OpenTelemetry collector that decodes the real protobuf messages."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quoteflow.local.stack import Stack
from quoteflow.observability.prometheus import start_prometheus
from tests.e2e.helpers import make_stack, quote_body
from tests.otlp_receiver import OtlpReceiver, Span

SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind
PROCESSES = ("preprocess", "inference-blue", "inference-green", "router")


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory,
          receiver: OtlpReceiver) -> Iterator[Stack]:
    # every process exports every trace it starts; Green shadows every Blue quote; the
    # access line at DEBUG is what each process logs for a request
    env = {p: {f"QUOTEFLOW_{p.split('-')[0].upper()}_TRACING__{k}": v for k, v in
               (("OTLP_ENDPOINT", receiver.url), ("SAMPLE_RATIO", "1.0"),
                ("EXPORT_DELAY_MS", "100"))} for p in PROCESSES}
    st = make_stack(trained_registry, tmp_path_factory.mktemp("traced"), env=env,
                    green_weight=0, shadow=True, shadow_sample=1.0, log_level="DEBUG")
    with st:
        yield st


def post(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    req = urllib.request.Request(url + "/v1/quote", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json", **headers})
    with urllib.request.urlopen(req) as r:
        return r.headers, json.loads(r.read())


def one(spans: list[Span], **match: Any) -> Span:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.service, s.name, s.trace_id) for s in spans])
    return found[0]


def logged(stack: Stack, service: str, trace_id: str) -> list[dict[str, Any]]:
    lines = (stack.config.workdir / f"{service}.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [e for e in entries if e.get("trace_id") == trace_id]


def test_a_quote_is_one_trace_across_four_processes(stack: Stack,
                                                    receiver: OtlpReceiver) -> None:
    url = stack.config.url("router")
    trace_id, caller_span = os.urandom(16).hex(), os.urandom(8).hex()
    headers, answer = post(url, quote_body(customer_key="traced-1"),
                           {"traceparent": f"00-{trace_id}-{caller_span}-01"})
    assert headers["x-request-id"] == trace_id  # the caller's trace id is the request id
    assert answer["model"]["color"] == "blue"

    def shadows(spans: list[Span]) -> list[Span]:
        return [s for s in spans if s.name == "quoteflow.shadow" and s.links
                and s.links[0][0] == trace_id]

    def complete(spans: list[Span]) -> bool:
        linked = shadows(spans)
        return (sum(s.trace_id == trace_id for s in spans) >= 7 and bool(linked) and
                any(s.trace_id == linked[0].trace_id and s.kind == SERVER for s in spans))

    spans = receiver.wait_for(complete)
    ours = [s for s in spans if s.trace_id == trace_id]
    # the router's server span continues the caller's trace, under the caller's span
    root = one(ours, service="quoteflow-router", kind=SERVER)
    assert root.parent_id == caller_span and root.name == "POST /v1/quote"
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["quoteflow.color"] == "blue"
    assert root.attributes["quoteflow.model.version"] == "1"
    assert root.attributes["quoteflow.product"] == "motor"
    # router -> preprocess: a client span under the root, the server span under it
    pre = one(ours, service="quoteflow-preprocess", kind=SERVER)
    pre_client = one(ours, span_id=pre.parent_id)
    assert pre_client.parent_id == root.span_id and pre_client.kind == CLIENT
    assert pre_client.attributes["url.full"].endswith("/v1/features/motor")
    # router -> Blue inference the same way
    inf = one(ours, service="quoteflow-inference", kind=SERVER)
    inf_client = one(ours, span_id=inf.parent_id)
    assert inf_client.parent_id == root.span_id
    assert inf_client.attributes["quoteflow.color"] == "blue"
    assert inf.resource["quoteflow.model.version"] == "1"
    # the ledger: the re-quote lookup and the commit, database client spans of the quote
    select = one(ours, name="SELECT quotes")
    insert = one(ours, name="INSERT quotes")
    assert select.parent_id == root.span_id and insert.parent_id == root.span_id
    assert insert.attributes["db.system.name"] == "sqlite"
    assert insert.kind == CLIENT
    # shadow: a trace of its own, linked to the quote's server span, priced by Green
    [shadow] = shadows(spans)
    assert shadow.links == [(trace_id, root.span_id)] and shadow.parent_id == ""
    green = one(spans, service="quoteflow-inference", kind=SERVER, trace_id=shadow.trace_id)
    assert green.resource["quoteflow.model.version"] == "2"
    assert one(spans, span_id=green.parent_id).parent_id == shadow.span_id

    # the request id in the ledger record and in every process's log lines for it
    with urllib.request.urlopen(f"{url}/v1/quotes/{answer['quote_id']}") as r:
        assert json.loads(r.read())["trace_id"] == trace_id
    for service in ("router", "preprocess", "inference-blue"):
        assert logged(stack, service, trace_id), service
    assert logged(stack, "inference-green", shadow.trace_id)


def test_a_trace_is_started_at_the_router_and_a_callers_no_is_followed(
        stack: Stack, receiver: OtlpReceiver) -> None:
    url = stack.config.url("router")
    headers, _ = post(url, quote_body(customer_key="traced-2"), {})
    started = headers["x-request-id"]
    assert len(started) == 32 and int(started, 16)
    unsampled = os.urandom(16).hex()
    headers, _ = post(url, quote_body(customer_key="traced-3"),
                      {"traceparent": f"00-{unsampled}-{os.urandom(8).hex()}-00"})
    assert headers["x-request-id"] == unsampled
    spans = receiver.wait_for(lambda ss: sum(s.trace_id == started for s in ss) >= 7)
    root = one(spans, trace_id=started, service="quoteflow-router", kind=SERVER)
    assert root.parent_id == ""
    # the caller said not sampled: nobody records it, but everybody logs its id
    assert not [s for s in receiver.spans() if s.trace_id == unsampled]
    assert logged(stack, "preprocess", unsampled)
    # a sampled quote's trace id is the latency histogram's exemplar (OpenMetrics only)
    req = urllib.request.Request(url + "/metrics", headers={
        "accept": "application/openmetrics-text; version=1.0.0"})
    with urllib.request.urlopen(req) as r:
        text = r.read().decode()
    buckets = [line for line in text.splitlines()
               if line.startswith("quoteflow_quote_duration_seconds_bucket")]
    assert any(f'# {{trace_id="{started}"}}' in line for line in buckets), buckets
    assert unsampled not in text


def test_prometheus_keeps_the_exemplars_it_scrapes(stack: Stack, receiver: OtlpReceiver,
                                                   tmp_path: Path) -> None:
    """A real Prometheus (exemplar storage on, as `quoteflow up --prometheus` runs it)
    scrapes the router as OpenMetrics and keeps a sampled quote's trace id."""
    url = stack.config.url("router")
    with start_prometheus(stack.prometheus_targets(), tmp_path, port=None) as prom:
        deadline = time.monotonic() + 30
        found: set[str] = set()
        sent: set[str] = set()
        while time.monotonic() < deadline and not found & sent:
            headers, _ = post(url, quote_body(customer_key=f"ex-{len(sent)}"), {})
            sent.add(headers["x-request-id"])
            query = urllib.parse.urlencode({
                "query": "quoteflow_quote_duration_seconds_bucket",
                "start": str(time.time() - 300), "end": str(time.time() + 5)})
            with urllib.request.urlopen(f"{prom.url}/api/v1/query_exemplars?{query}") as r:
                data = json.loads(r.read())["data"]
            found = {e["labels"]["trace_id"] for series in data for e in series["exemplars"]}
            time.sleep(0.5)
    assert found & sent, (found, sent)
