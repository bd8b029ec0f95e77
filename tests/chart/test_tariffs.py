"""Scheduled tariffs in the chart: the policy ConfigMap carries them as the router reads
them, and each color's pods pin (and fetch) their color's version of every tariff."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from quoteflow.traffic.document import parse_document
from tests.chart.chartlib import FULLNAME, render, render_scenario, scenario_values
from tests.chart.test_invariants import env_of, inference_deployments, pod_spec


def test_the_schedule_reaches_the_policy_and_the_pods() -> None:
    r = render_scenario("tariffs")
    cm = r.get("ConfigMap", f"{FULLNAME}-traffic-policy")
    policy = parse_document(cm["data"]["policy.yaml"], "rendered").section("motor")
    assert [(t.effective, t.version_of("blue"), t.version_of("green"), t.green_weight)
            for t in policy.tariffs] == [
        (dt.datetime(2027, 1, 1, tzinfo=dt.UTC), "3", "4", 10),
        (dt.datetime(2027, 3, 31, 22, tzinfo=dt.UTC), "5", None, 0)]
    assert policy.tariffs[0].shadow.enabled and policy.tariffs[0].shadow.sample == 0.5
    pinned = {}
    for color, d in inference_deployments(r, "motor").items():
        spec = pod_spec(d)
        assert spec is not None
        main, init = env_of(spec["containers"][0]), env_of(spec["initContainers"][0])
        pinned[color] = json.loads(main["QUOTEFLOW_INFERENCE_EXTRA_VERSIONS"])
        assert init["EXTRA_VERSIONS"].split() == pinned[color]  # fetched as well
    assert pinned == {"blue": ["3", "5"], "green": ["4"]}


def test_without_a_schedule_nothing_extra_is_pinned() -> None:
    r = render_scenario("green-10")
    cm = r.get("ConfigMap", f"{FULLNAME}-traffic-policy")
    assert "tariffs" not in cm["data"]["policy.yaml"]
    for d in inference_deployments(r, "motor").values():
        spec = pod_spec(d)
        assert spec is not None
        assert env_of(spec["containers"][0])["QUOTEFLOW_INFERENCE_EXTRA_VERSIONS"] == "[]"


@pytest.mark.parametrize("tariff", [{"blue": "3"}, {"effective": "2027-01-01", "blue": "3",
                                                   "weight": 5}])
def test_a_bad_tariff_is_refused_by_the_schema(tariff: dict[str, object]) -> None:
    values = scenario_values("tariffs")
    values["traffic"]["tariffs"] = [tariff]
    with pytest.raises(Exception, match="tariffs"):
        render(values)
