"""Bad values fail the render, with a message naming the value. Real Helm engine."""

from __future__ import annotations

import shutil
from typing import Any

import helm_python as helm
import pytest

from tests.chart.chartlib import CHART, render

BAD: list[tuple[str, dict[str, Any], list[str]]] = [
    ("weight above 100", {"traffic": {"greenWeight": 150}}, ["/traffic/greenWeight", "100"]),
    ("negative weight", {"traffic": {"greenWeight": -1}}, ["/traffic/greenWeight"]),
    ("shadow sample above 1", {"traffic": {"shadow": {"sample": 2}}},
     ["/traffic/shadow/sample"]),
    ("unknown top-level key", {"trafic": {"greenWeight": 10}}, ["trafic", "not allowed"]),
    ("unknown nested key", {"router": {"replicaz": 3}}, ["/router", "replicaz"]),
    ("a third color", {"inference": {"colors": {"purple": {"enabled": True, "version": "9",
                                                           "replicas": 1}}}},
     ["/inference/colors", "purple"]),
    ("missing model version", {"inference": {"colors": {"green": {"version": None}}}},
     ["/inference/colors/green", "version"]),
    ("empty model version", {"inference": {"colors": {"blue": {"version": ""}}}},
     ["/inference/colors/blue/version"]),
    ("no limits", {"router": {"resources": {"limits": None}}},  # null deletes a default
     ["/router/resources", "limits"]),
    ("unknown model source", {"models": {"source": "s3"}}, ["/models/source"]),
    ("admin port on the API port", {"adminPort": 8080}, ["/adminPort"]),
    ("privileged admin port", {"adminPort": 80}, ["/adminPort"]),
    ("bad env name", {"router": {"extraEnv": {"PATH": "/x"}}}, ["PATH", "^QUOTEFLOW_"]),
    # rules that span several values, checked by the templates
    ("weight with green off", {"inference": {"colors": {"green": {"enabled": False}}},
                               "traffic": {"greenWeight": 10}},
     ["traffic.greenWeight", "inference.colors.green.enabled"]),
    ("shadow with green off", {"inference": {"colors": {"green": {"enabled": False}}},
                               "traffic": {"shadow": {"enabled": True}}},
     ["traffic.shadow.enabled", "inference.colors.green.enabled"]),
    ("blue off", {"inference": {"colors": {"blue": {"enabled": False}}}},
     ["inference.colors.blue.enabled"]),
    ("training without a store", {"training": {"enabled": True}},
     ["training.enabled", "models.source=pvc"]),
    ("two routers on SQLite", {"router": {"replicas": 2}}, ["/router", "replicas"]),
    ("autoscaled routers on SQLite", {"router": {"autoscaling": {"enabled": True}}},
     ["/router", "autoscaling"]),
    # further products (products.<model>)
    ("a product named all", {"products": {"all": {
        "enabled": True, "colors": {"blue": {"enabled": True, "version": "1", "replicas": 1},
                                    "green": {"enabled": False, "replicas": 1}},
        "traffic": {"greenWeight": 0, "shadow": {"enabled": False, "sample": 1.0}}}}},
     ["invalid propertyName 'all'"]),
    ("a product's weight above 100", {"products": {"claims": {
        "enabled": True, "traffic": {"greenWeight": 120}}}},
     ["/products/claims/traffic/greenWeight"]),
    ("a product's blue off", {"products": {"claims": {
        "enabled": True, "colors": {"blue": {"enabled": False}}}}},
     ["products.claims.colors.blue.enabled"]),
    ("a product's weight with its green off", {"products": {"claims": {
        "enabled": True, "colors": {"green": {"enabled": False}},
        "traffic": {"greenWeight": 10}}}},
     ["products.claims.traffic.greenWeight", "products.claims.colors.green.enabled"]),
    ("a product's missing version", {"products": {"claims": {
        "enabled": True, "colors": {"green": {"version": None}}}}},
     ["/products/claims/colors/green", "version"]),
    ("the first product again", {"products": {"motor": {
        "enabled": True, "colors": {"blue": {"enabled": True, "version": "1", "replicas": 1},
                                    "green": {"enabled": False, "replicas": 1}},
        "traffic": {"greenWeight": 0, "shadow": {"enabled": False, "sample": 1.0}}}}},
     ["products.motor", "inference.modelName"]),
]


@pytest.mark.parametrize(("case", "values", "named"), BAD, ids=[b[0] for b in BAD])
def test_bad_values_fail_the_render_naming_the_value(case: str, values: dict[str, Any],
                                                     named: list[str]) -> None:
    with pytest.raises(helm.HelmError) as e:
        render(values)
    for part in named:
        assert part in str(e.value), f"{case}: {part!r} not in: {e.value}"


@pytest.fixture(scope="module")
def schemaless_chart(tmp_path_factory: pytest.TempPathFactory) -> helm.Chart:
    """The chart without values.schema.json: what `--skip-schema-validation` renders.

    (helm lint cannot show these guards: in lint mode Helm turns `fail` and
    `required` into log lines.)"""
    copy = tmp_path_factory.mktemp("chart") / "quoteflow"
    shutil.copytree(CHART, copy)
    (copy / "values.schema.json").unlink()
    return helm.Chart.load(copy)


GUARDED = [
    ({"inference": {"colors": {"green": {"version": None}}}},
     "inference.colors.green.version is required when inference.colors.green.enabled is true"),
    ({"inference": {"colors": {"blue": {"version": ""}}}},
     "inference.colors.blue.version is required"),
    ({"traffic": {"greenWeight": 101}}, "traffic.greenWeight must be between 0 and 100, got 101"),
    ({"traffic": {"greenWeight": -5}}, "traffic.greenWeight must be between 0 and 100, got -5"),
    ({"router": {"replicas": 3}},
     "motor router: more than one replica (router.replicas, products.<model>.routerReplicas) "
     "or router.autoscaling.enabled needs router.ledger.postgresql.existingSecret"),
]


@pytest.mark.parametrize(("values", "message"), GUARDED)
def test_template_guards_hold_without_the_schema(schemaless_chart: helm.Chart,
                                                 values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmRenderError) as e:
        schemaless_chart.render(values, name="qf", namespace="quoteflow")
    assert message in str(e.value)


def test_version_given_as_a_number_is_accepted() -> None:
    """`--set inference.colors.green.version=3` arrives as an integer."""
    r = render({"inference": {"colors": {"green": {"version": 3}}}})
    cm = next(o for o in r.of_kind("ConfigMap") if o["metadata"]["name"].endswith("policy"))
    assert 'version: "3"' in cm["data"]["policy.yaml"]
