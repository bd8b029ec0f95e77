"""skaffold.yaml, the Dockerfile and the chart agree with each other.

No skaffold binary and no Docker engine here: skaffold's Helm step is emulated
(setValueTemplates filled as skaffold fills them, profiles applied as JSON
patches) and the result is rendered with the real Helm engine.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from tests.chart.chartlib import CHART, ROOT, chart, pod_spec

SKAFFOLD = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
# stage name -> the stage it is built FROM
STAGES = {stage: parent for parent, stage in
          re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", DOCKERFILE, re.M)}
SERVICES = ("preprocess", "inference", "router")
EXTRAS = {"preprocess": "preprocess", "inference": "inference", "router": "router",
          "desk": "desk", "training": "training"}


def stage_body(name: str) -> str:
    m = re.search(rf"^FROM\s+\S+\s+AS\s+{name}\n(.*?)(?=^FROM|\Z)", DOCKERFILE, re.M | re.S)
    assert m, f"no stage {name}"
    return m.group(1)


def set_dotted(values: dict[str, Any], key: str, value: Any) -> None:
    node = values
    *parents, leaf = key.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = value


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def apply_patches(config: dict[str, Any], patches: list[dict[str, Any]]) -> dict[str, Any]:
    """JSON patch `add`/`replace`, the ops our profiles use."""
    config = copy.deepcopy(config)
    for p in patches:
        assert p["op"] in ("add", "replace"), p
        *parents, leaf = [s.replace("~1", "/").replace("~0", "~") for s in p["path"].split("/")[1:]]
        node: Any = config
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node.append(p["value"]) if leaf == "-" else node.insert(int(leaf), p["value"])
        else:
            node[leaf] = p["value"]
    return config


def skaffold_render(config: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What `skaffold dev` would install: values from the release, images as built."""
    (release,) = config["deploy"]["helm"]["releases"]
    built = {a["image"]: (f"localhost/{a['image']}", f"built-{a['docker']['target']}")
             for a in config["build"]["artifacts"]}
    env = {}
    for image, (repo, tag) in built.items():
        key = re.sub(r"[^A-Za-z0-9]", "_", image)  # skaffold's template variable naming
        env[f"IMAGE_REPO_{key}"], env[f"IMAGE_TAG_{key}"] = repo, tag
    values: dict[str, Any] = {}
    for f in release.get("valuesFiles", []):
        values = merge(values, yaml.safe_load((ROOT / f).read_text()))
    for k, v in release.get("setValues", {}).items():
        set_dotted(values, k, v)
    for k, template in release["setValueTemplates"].items():
        names = re.findall(r"\{\{\s*\.(\w+)\s*\}\}", template)
        assert names and all(n in env for n in names), f"{k}: {template} names no artifact"
        set_dotted(values, k, re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: env[m.group(1)],
                                     template))
    files = chart().render(values, name=release["name"], namespace=release["namespace"])
    objects = [d for p, t in files.items() if not p.endswith("NOTES.txt")
               for d in yaml.safe_load_all(t) if d]
    return values, objects


def test_skaffold_schema_and_one_artifact_per_target() -> None:
    assert SKAFFOLD["apiVersion"].startswith("skaffold/v4beta")
    artifacts = SKAFFOLD["build"]["artifacts"]
    targets = [a["docker"]["target"] for a in artifacts]
    assert sorted(targets) == sorted(["preprocess", "inference", "router", "desk", "training",
                                      "models"])
    for a in artifacts:
        assert a["docker"]["target"] in STAGES, a
        assert a["image"] == f"quoteflow-{a['docker']['target']}"
    # every image the chart knows is built, and nothing else
    assert set(chart().values["images"]) == set(targets)


def test_built_images_reach_every_container() -> None:
    _, objects = skaffold_render(SKAFFOLD)
    images = {c["image"] for o in objects if pod_spec(o)
              for c in pod_spec(o).get("initContainers", []) + pod_spec(o)["containers"]}  # type: ignore[union-attr]
    assert images and all(i.startswith("localhost/quoteflow-") and ":built-" in i for i in images)
    target_of = {i: i.split(":built-")[1] for i in images}
    assert all(i.split(":")[0].endswith(t) for i, t in target_of.items())
    # the port-forward points at a Service the release creates, on its port
    (pf,) = SKAFFOLD["portForward"]
    svc = next(o for o in objects if o["kind"] == "Service"
               and o["metadata"]["name"] == pf["resourceName"])
    assert pf["port"] == svc["spec"]["ports"][0]["port"] and pf["localPort"] == 8080
    assert pf["namespace"] == SKAFFOLD["deploy"]["helm"]["releases"][0]["namespace"]


@pytest.mark.parametrize("profile", ["kind", "minikube", "shadow", "monitoring"])
def test_every_profile_renders(profile: str) -> None:
    prof = next(p for p in SKAFFOLD["profiles"] if p["name"] == profile)
    config = apply_patches(SKAFFOLD, prof.get("patches", []))
    for section in ("build", "deploy"):
        for k, v in prof.get(section, {}).items():
            config[section][k] = merge(config[section].get(k, {}), v) \
                if isinstance(v, dict) else v
    _, objects = skaffold_render(config)
    cm = next(o for o in objects if o["kind"] == "ConfigMap"
              and o["metadata"]["name"].endswith("traffic-policy"))
    policy = yaml.safe_load(cm["data"]["policy.yaml"])["models"]["motor"]
    kinds = {o["kind"] for o in objects}
    if profile == "shadow":
        assert policy["shadow"]["enabled"] is True
    if profile == "monitoring":
        assert {"ServiceMonitor", "PrometheusRule"} <= kinds
    if profile in ("kind", "minikube"):
        assert config["build"]["local"]["push"] is False
        assert config["deploy"]["kubeContext"] == prof["activation"][0]["kubeContext"]


def test_dockerfile_images_are_pinned_non_root_and_lean() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE, re.M).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base
    assert ":latest" not in DOCKERFILE
    for service in (*SERVICES, "desk", "training", "models"):
        body = stage_body(service)
        users = re.findall(r"^USER\s+(\S+)", body, re.M)
        assert users and users[-1] == "10001:10001", service  # runs as the non-root user
    for service, extra in EXTRAS.items():
        deps = stage_body(f"deps-{service}")
        assert re.findall(r"COPY locks/(\w+)\.txt", deps) == [extra], service
        assert "--require-hashes" in deps, service
        assert "COPY services" not in deps  # code never lands in the dependency layer
        assert STAGES[service] == f"deps-{service}", service
    assert "! python -c \"import sklearn\"" in stage_body("deps-inference")
    assert "! python -c \"import onnxruntime\"" in stage_body("deps-router")
    for service in SERVICES:
        body = stage_body(service)
        cmd = re.search(r"^CMD\s+(\[.*\])", body, re.M).group(1)  # type: ignore[union-attr]
        assert yaml.safe_load(cmd) == ["quoteflow", "serve", service]
        assert f"QUOTEFLOW_{service.upper()}_PORT=8080" in body
    ignore = [line for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line and not line.startswith("#")]
    assert ignore[0] == "*" and "!services/" in ignore  # an allow-list
    assert not any(line.startswith(("!var", "!.venv", "!.git")) for line in ignore)


def test_values_schema_is_strict_everywhere() -> None:
    """Every object in values.schema.json refuses unknown keys and lists what it needs."""
    schema = chart().schema
    assert schema is not None

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, path
                assert node.get("required"), path
            for k, v in node.items():
                walk(v, f"{path}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}/{i}")

    walk(schema, "")
    assert (CHART / "values.yaml").read_text().startswith(
        "# yaml-language-server: $schema=values.schema.json\n")
