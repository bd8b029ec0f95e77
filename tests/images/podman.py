"""Build the Dockerfile's targets with podman and run containers the way the chart's
pods run them, read from the chart itself (rendered by the real Helm engine).

Flags that work on this kind of machine (shared/FINDINGS.md "Containers"): runc and
cgroupfs, builds with `--network host --pull=never` over the stand-in base image
localhost/pybase:3.11 (scripts/podman-base.sh). There is no cluster network, so every
container shares the host's loopback and gets its own ports through the chart's own
environment variables; everything else (user, capabilities, read-only root, emptyDir
tmpfs, memory limit, command, init container script) comes from the rendered pod.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.chart.chartlib import FULLNAME, Rendered, pod_spec

BASE = ["podman", "--runtime", "/usr/sbin/runc", "--cgroup-manager", "cgroupfs"]
PYBASE = "localhost/pybase:3.11"
TARGETS = ("preprocess", "inference", "router", "desk", "training", "models")


def podman(*args: str, check: bool = True, timeout: float = 900) -> str:
    done = subprocess.run([*BASE, *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args[:3])} failed ({done.returncode}):\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def build(context: Path, target: str, tag: str, build_args: dict[str, str]) -> str:
    """Build one target; returns the build's output (STEP lines show what was cached)."""
    args = ["build", "--network", "host", "--pull=never", "--target", target, "-t", tag,
            "--build-arg", f"PYTHON_IMAGE={PYBASE}"]
    for k, v in build_args.items():
        args += ["--build-arg", f"{k}={v}"]
    return podman(*args, str(context))


def inspect(image: str) -> dict[str, Any]:
    return json.loads(podman("image", "inspect", image))[0]  # type: ignore[no-any-return]


def chart_pods(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Pod specs by service: preprocess, inference-blue, inference-green, router."""
    pods = {}
    for obj in rendered.of_kind("Deployment"):
        name = obj["metadata"]["name"].removeprefix(FULLNAME + "-")
        spec = pod_spec(obj)
        assert spec is not None
        pods[name] = spec
    return pods


def memory_flag(limit: str) -> str:
    units = {"Mi": "m", "Gi": "g", "Ki": "k"}
    for suffix, flag in units.items():
        if limit.endswith(suffix):
            return limit.removesuffix(suffix) + flag
    raise ValueError(f"memory limit {limit!r}: unknown unit")


def run_flags(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """podman run flags for one container of a rendered pod: its security context,
    its memory limit, and a tmpfs for each emptyDir it mounts (other volumes: caller)."""
    psc, sc = pod.get("securityContext", {}), container.get("securityContext", {})
    flags = ["--user", f"{psc['runAsUser']}:{psc['runAsGroup']}"]
    assert sc.get("capabilities", {}).get("drop") == ["ALL"], sc
    flags += ["--cap-drop", "ALL"]
    if sc.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    if sc.get("readOnlyRootFilesystem"):
        # --read-only-tmpfs=false: otherwise podman adds writable /run and /var/tmp
        flags += ["--read-only", "--read-only-tmpfs=false"]
    flags += ["--memory", memory_flag(container["resources"]["limits"]["memory"])]
    empty = {v["name"]: v["emptyDir"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for m in container.get("volumeMounts", []):
        if m["name"] in empty and m["mountPath"] == "/tmp":
            size = memory_flag(empty[m["name"]].get("sizeLimit", "64Mi"))
            flags += ["--tmpfs", f"/tmp:rw,size={size}"]
    return flags


def literal_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's env entries with a literal value (valueFrom needs a cluster)."""
    return {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
