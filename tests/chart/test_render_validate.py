"""The chart renders, lints strict-clean and every object passes Kubernetes schemas.

Rendered with the real Helm engine (helm-python-sdk); validated with
kubernetes-validate --strict (unknown fields are errors) against two Kubernetes
versions. No cluster ran.
"""

from __future__ import annotations

from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

from tests.chart.chartlib import (
    CHART,
    CUSTOM_RESOURCES,
    SCENARIOS,
    render_scenario,
    scenario_values,
)

OLDEST_SUPPORTED = "1.30.0"
NEWEST = kubernetes_validate.latest_version()  # 1.37.0 in kubernetes-validate 1.37
KUBE_VERSIONS = [OLDEST_SUPPORTED, NEWEST]


def test_two_distinct_kubernetes_versions() -> None:
    assert NEWEST != OLDEST_SUPPORTED and NEWEST.startswith("1.")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_renders(scenario: str) -> None:
    r = render_scenario(scenario)
    kinds = {o["kind"] for o in r.objects}
    assert {"Deployment", "Service", "ConfigMap", "Role", "RoleBinding", "ServiceAccount",
            "PodDisruptionBudget", "NetworkPolicy", "Pod"} <= kinds
    assert "kubectl -n quoteflow port-forward svc/qf-quoteflow-router" in r.notes
    assert "curl -s -X POST http://127.0.0.1:8080/v1/quote" in r.notes


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_lint_strict_is_clean(scenario: str, kube_version: str) -> None:
    report = helm.lint(CHART, scenario_values(scenario), strict=True, namespace="quoteflow",
                       kube_version=f"v{kube_version}")
    assert report["errors"] == [] and report["messages"] == [], report


def _check_custom_resource(obj: dict[str, Any]) -> None:
    """ServiceMonitor and PrometheusRule: kubernetes-validate has no schema for CRDs
    (it only warns), so their shape is checked here instead of being skipped."""
    spec = obj["spec"]
    if obj["kind"] == "ServiceMonitor":
        assert set(spec) <= {"namespaceSelector", "selector", "endpoints", "podTargetLabels",
                             "targetLabels", "jobLabel"}, set(spec)
        assert spec["selector"]["matchLabels"] and spec["endpoints"]
        for ep in spec["endpoints"]:
            assert set(ep) <= {"port", "path", "interval", "scrapeTimeout", "relabelings"}, ep
            assert ep["port"] in ("http", "admin") and ep["path"] == "/metrics"
            # the pod's color reaches the rules and dashboard as the label `color`
            assert {"sourceLabels": ["__meta_kubernetes_pod_label_quoteflow_io_color"],
                    "targetLabel": "color", "regex": "(.+)", "action": "replace"} \
                in ep["relabelings"]
            # and its model as `model`, which `quoteflow rollout` selects on
            assert {"sourceLabels": ["__meta_kubernetes_pod_label_quoteflow_io_model"],
                    "targetLabel": "model", "regex": "(.+)", "action": "replace"} \
                in ep["relabelings"]
    else:
        assert spec["groups"], "an empty PrometheusRule must not be rendered"
        for g in spec["groups"]:
            assert set(g) <= {"name", "interval", "rules", "limit"}, set(g)
            for rule in g["rules"]:
                assert ("record" in rule) != ("alert" in rule), rule
                assert isinstance(rule["expr"], str) and rule["expr"].strip()
                assert set(rule) <= {"record", "alert", "expr", "for", "labels",
                                     "annotations", "keep_firing_for"}, set(rule)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_object_passes_strict_schema(scenario: str, kube_version: str) -> None:
    r = render_scenario(scenario)
    validated = custom = 0
    for obj in r.objects:
        where = f"{scenario}: {obj['kind']}/{obj['metadata']['name']} on {kube_version}"
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES:
            # explicit, not a blanket skip: only these two kinds may lack a schema
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(obj, kube_version, strict=True)
            _check_custom_resource(obj)
            custom += 1
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            pytest.fail(f"{where}: {path}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError as e:
            pytest.fail(f"{where}: no schema: {e}")
        validated += 1
    assert validated == len(r.objects) - custom > 10


def test_strict_validation_catches_a_misspelled_field() -> None:
    """The validator really is strict: the check above would catch a typo."""
    dep = next(o for o in render_scenario("default").objects if o["kind"] == "Deployment")
    bad = yaml.safe_load(yaml.safe_dump(dep))
    bad["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, NEWEST, strict=True)


@pytest.mark.parametrize("kube_version", KUBE_VERSIONS)
def test_dev_ledger_database_passes_strict_schema(kube_version: str) -> None:
    """k8s/postgres.yaml (skaffold's rawYaml) and what the dev values expect of it."""
    from tests.chart.chartlib import ROOT

    docs = [d for d in yaml.safe_load_all((ROOT / "k8s/postgres.yaml").read_text()) if d]
    for obj in docs:
        kubernetes_validate.validate(obj, kube_version, strict=True)
    secret = next(d for d in docs if d["kind"] == "Secret")
    dev = yaml.safe_load((ROOT / "k8s/dev-values.yaml").read_text())
    assert dev["router"]["ledger"]["postgresql"]["existingSecret"] == secret["metadata"]["name"]
    assert dev["router"]["ledger"]["postgresql"]["key"] in secret["stringData"]
    service = next(d for d in docs if d["kind"] == "Service")
    assert f"@{service['metadata']['name']}:5432/" in secret["stringData"]["url"]
