"""Traces in the chart (issue 28): off by default; a named collector reaches every
router, preprocess and inference pod with its service's sampling ratio."""

from __future__ import annotations

import pytest

from quoteflow.tracing import TracingSettings
from tests.chart.chartlib import render
from tests.chart.test_invariants import env_of, pod_spec

ENDPOINT = "http://otel-collector.observability:4318/v1/traces"
SERVICES = ("router", "preprocess", "inference")


def tracing_env(values: dict[str, object] | None) -> dict[str, dict[str, str]]:
    """Each Deployment's QUOTEFLOW_*_TRACING__* variables, by Deployment name."""
    out = {}
    for d in render(values).of_kind("Deployment"):
        spec = pod_spec(d)
        assert spec is not None
        env = env_of(spec["containers"][0])
        out[d["metadata"]["name"]] = {k: v for k, v in env.items() if "_TRACING__" in k}
    return out


def test_tracing_is_off_by_default() -> None:
    found = tracing_env(None)
    assert found and not any(found.values())


def test_a_named_collector_reaches_every_serving_pod_with_its_ratio() -> None:
    found = tracing_env({"tracing": {"otlpEndpoint": ENDPOINT, "sampleRatio": {
        "router": 0.05, "preprocess": 0.01, "inference": 0.02}}})
    ratios = {"ROUTER": "0.05", "PREPROCESS": "0.01", "INFERENCE": "0.02"}
    traced = {name: env for name, env in found.items() if env}
    assert {s for s in SERVICES if any(s in name for name in traced)} == set(SERVICES)
    for name, env in traced.items():
        (service,) = {k.split("_")[1] for k in env}
        assert env == {f"QUOTEFLOW_{service}_TRACING__OTLP_ENDPOINT": ENDPOINT,
                       f"QUOTEFLOW_{service}_TRACING__SAMPLE_RATIO": ratios[service]}, name
        # what the service's settings will read from it
        TracingSettings(otlp_endpoint=ENDPOINT, sample_ratio=float(ratios[service]))


@pytest.mark.parametrize("bad", [{"otlpEndpoint": "collector:4318"},
                                 {"sampleRatio": {"router": 2}}])
def test_bad_tracing_values_are_refused(bad: dict[str, object]) -> None:
    tracing = {"otlpEndpoint": "", "sampleRatio": {"router": 0.01, "preprocess": 0.01,
                                                   "inference": 0.01}}
    with pytest.raises(Exception, match="tracing"):
        render({"tracing": {**tracing, **bad}})
