"""Render charts/quoteflow with the real Helm engine (helm-python-sdk, Helm v4 SDK).

No cluster and no helm binary: ``Chart.render`` runs Helm's template engine in
process, schema validation included; ``lookup`` returns nothing, as in
``helm template``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "quoteflow"
RELEASE, NAMESPACE = "qf", "quoteflow"
FULLNAME = f"{RELEASE}-quoteflow"
SCENARIOS: dict[str, Path | None] = {"default": None} | {
    p.name.removesuffix("-values.yaml"): p for p in sorted((CHART / "ci").glob("*-values.yaml"))}
CUSTOM_RESOURCES = {("monitoring.coreos.com/v1", "ServiceMonitor"),
                    ("monitoring.coreos.com/v1", "PrometheusRule")}


@dataclass(frozen=True)
class Rendered:
    values: dict[str, Any]
    files: dict[str, str]          # template path -> rendered text (NOTES.txt included)
    objects: list[dict[str, Any]]  # every non-empty YAML document of every manifest

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
        return found[0]

    @property
    def notes(self) -> str:
        return next(v for k, v in self.files.items() if k.endswith("NOTES.txt"))


@functools.cache
def chart() -> helm.Chart:
    return helm.Chart.load(CHART)


def scenario_values(name: str) -> dict[str, Any]:
    path = SCENARIOS[name]
    return yaml.safe_load(path.read_text()) if path else {}


def render(values: dict[str, Any] | None = None) -> Rendered:
    files = chart().render(values or {}, name=RELEASE, namespace=NAMESPACE)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):  # text for humans, not a manifest
            continue
        for doc in yaml.safe_load_all(text):
            if doc:  # templates switched off render as empty documents
                assert isinstance(doc, dict) and "kind" in doc, f"{path}: not an object: {doc!r}"
                objects.append(doc)
    return Rendered(chart().merge_values(values or {}), files, objects)


@functools.cache
def render_scenario(name: str) -> Rendered:
    return render(scenario_values(name))


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod spec inside a workload object, or None."""
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind == "Pod":
        return obj["spec"]
    return None


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def label_selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector (matchLabels + matchExpressions In/NotIn/Exists)."""
    if not selects(selector.get("matchLabels", {}), labels):
        return False
    for e in selector.get("matchExpressions", []):
        key, op, vals = e["key"], e["operator"], e.get("values", [])
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True
