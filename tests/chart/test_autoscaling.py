"""The router's HPA scales on CPU and, when asked, on its event-loop lag: the signal its
admission control sheds on (router/admission.py), as a Pods metric. Inference's
HPA stays on CPU; a lag target of 0 leaves the router on CPU alone."""

from __future__ import annotations

from typing import Any

from tests.chart.chartlib import FULLNAME, render, render_scenario, scenario_values


def hpa_metrics(objects: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    [hpa] = [o for o in objects if o["kind"] == "HorizontalPodAutoscaler"
             and o["metadata"]["name"] == name]
    return hpa["spec"]["metrics"]  # type: ignore[no-any-return]


def test_production_router_hpa_scales_on_cpu_and_event_loop_lag() -> None:
    r = render_scenario("production")
    cpu, lag = hpa_metrics(r.objects, f"{FULLNAME}-router")
    assert cpu["type"] == "Resource" and cpu["resource"]["name"] == "cpu"
    assert lag == {"type": "Pods", "pods": {
        "metric": {"name": "quoteflow_router_event_loop_lag_seconds"},
        "target": {"type": "AverageValue", "averageValue": "10m"}}}  # 10 ms
    for hpa in r.of_kind("HorizontalPodAutoscaler"):
        if hpa["metadata"]["name"] != f"{FULLNAME}-router":  # inference: CPU only
            assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource"]


def test_a_lag_target_of_zero_leaves_the_router_on_cpu() -> None:
    values = scenario_values("production")
    values["router"]["autoscaling"]["eventLoopLagTargetMs"] = 0
    metrics = hpa_metrics(render(values).objects, f"{FULLNAME}-router")
    assert [m["type"] for m in metrics] == ["Resource"]
