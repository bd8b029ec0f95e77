"""Tracing's bench rows (issue 28 item 5): the goal pairs the 1% row with the run's own
tracing-off chain row, and the sink answers a real OTLP exporter as a collector would."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult

from quoteflow.bench.results import CHAIN, CHAIN_TRACED, Row, goals
from quoteflow.bench.tracing_rows import sink, tracing_env

GOAL = "tracing at 1%: whole chain CPU per quote / tracing off"
ONE, ALL = CHAIN_TRACED


def _row(section: str, router: float, load: str = "closed 64") -> Row:
    return Row(section, load, 3000, 20, 40, 0, 100,
               {"router": router, "preprocess": 100.0, "inference-blue": 100.0,
                "loadgen": 5000.0})


def test_the_goal_is_the_1pct_chain_cpu_over_the_same_runs_tracing_off() -> None:
    rows = [_row(CHAIN, 300.0), _row(ONE, 310.0), _row(ALL, 600.0),
            _row(ONE, 999.0, "open 1000/s")]
    g = next(x for x in goals(rows) if x["goal"] == GOAL)
    assert g["value"] == 510.0 / 500.0 and g["met"] is True  # the load generator not counted
    rows[1] = _row(ONE, 330.0)
    g = next(x for x in goals(rows) if x["goal"] == GOAL)
    assert g["value"] == 530.0 / 500.0 and g["met"] is False
    g = next(x for x in goals([_row(CHAIN, 300.0)]) if x["goal"] == GOAL)
    assert g["value"] is None and g["met"] is None


def test_every_chain_process_is_told_the_sink_and_the_ratio() -> None:
    env = tracing_env("http://127.0.0.1:1/v1/traces", 0.01)
    assert set(env) == {"router", "preprocess", "inference-blue", "inference-green"}
    assert env["inference-green"] == {
        "QUOTEFLOW_INFERENCE_TRACING__OTLP_ENDPOINT": "http://127.0.0.1:1/v1/traces",
        "QUOTEFLOW_INFERENCE_TRACING__SAMPLE_RATIO": "0.01"}


def test_the_sink_accepts_a_real_export() -> None:
    with sink() as url:
        exporter = OTLPSpanExporter(endpoint=url, timeout=5)
        results: list[SpanExportResult] = []

        class Recording(SimpleSpanProcessor):
            def on_end(self, span: object) -> None:
                results.append(exporter.export([span]))  # type: ignore[list-item]

        provider = TracerProvider()
        provider.add_span_processor(Recording(exporter))
        with provider.get_tracer("t").start_as_current_span("quote"):
            pass
        provider.shutdown()
    assert results == [SpanExportResult.SUCCESS]
