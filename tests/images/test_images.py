"""The images, built for real with podman and run as the chart runs them: uid 10001,
read-only root with the chart's tmpfs /tmp, all capabilities dropped, no privilege
escalation, the chart's memory limits, the model copied in by the chart's own init
container script. Then real quotes, Green killed under load, zero failed quotes."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from quoteflow.local.stack import free_port
from tests.chart.chartlib import ROOT, render
from tests.drills.load import DrillLoad
from tests.images.podman import (
    TARGETS,
    build,
    chart_pods,
    inspect,
    literal_env,
    podman,
    run_flags,
)
from tests.service_logs import LogScanner

TAG = "test"
REVISION = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "unknown"
LABELS = {"org.opencontainers.image.revision": REVISION,
          "org.opencontainers.image.version": "0.1.0",
          "org.opencontainers.image.source": "file://" + str(ROOT)}


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """Every target, built one at a time (2 shared cores) from the working tree."""
    tags = {}
    for target in TARGETS:
        tag = f"localhost/quoteflow-{target}:{TAG}"
        start = time.monotonic()
        build(ROOT, target, tag, {"REVISION": REVISION, "VERSION": "0.1.0",
                                  "SOURCE": LABELS["org.opencontainers.image.source"]})
        size = inspect(tag)["Size"] / 1e6
        print(f"IMAGE {target}: built in {time.monotonic() - start:.0f} s, {size:.0f} MB")
        tags[target] = tag
    return tags


def test_every_image_is_labelled_and_runs_as_10001(images: dict[str, str]) -> None:
    for target, tag in images.items():
        info = inspect(tag)
        labels = info["Config"]["Labels"]
        for key, value in LABELS.items():
            assert labels.get(key) == value, (target, key, labels)
        assert labels["org.opencontainers.image.title"] == f"quoteflow-{target}"
        assert info["Config"]["User"] == "10001:10001", target
        assert "HOME=/tmp" in info["Config"]["Env"], target


def wait_ready(url: str, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    logs = podman("logs", name, check=False)
    raise AssertionError(f"{name} not ready after {timeout:.0f}s:\n{logs[-3000:]}")


class PodRunner:
    """Starts the chart's pods as containers on the host's loopback; removes them all."""

    def __init__(self, images: dict[str, str], tmp: Path) -> None:
        self.images, self.tmp = images, tmp
        rendered = render({"traffic": {"greenWeight": 50}})
        self.pods = chart_pods(rendered)
        self.policy = next(c["data"]["policy.yaml"] for c in rendered.of_kind("ConfigMap")
                           if "policy.yaml" in c.get("data", {}))
        self.ports = {s: (free_port(), free_port()) for s in self.pods}
        self.names: dict[str, str] = {}
        self.suffix = uuid.uuid4().hex[:8]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service][0]}"

    def copy_model(self, service: str) -> Path:
        """The init container, exactly as the chart writes it, into an emptyDir stand-in."""
        pod = self.pods[service]
        init = pod["initContainers"][0]
        models = self.tmp / f"models-{service}"
        models.mkdir()
        models.chmod(0o777)  # an emptyDir is world-writable
        env = [f"--env={k}={v}" for k, v in literal_env(init).items()]
        podman("run", "--rm", "--network", "none", *run_flags(pod, init), *env,
               "-v", f"{models}:/models", self.images["models"], *init["command"])
        return models

    def start(self, service: str, volumes: list[str], env: dict[str, str]) -> str:
        pod = self.pods[service]
        c = pod["containers"][0]
        kind = "inference" if service.startswith("inference") else service
        prefix = f"QUOTEFLOW_{kind.upper()}_"
        port, admin = self.ports[service]
        merged = {**literal_env(c), prefix + "HOST": "127.0.0.1", prefix + "PORT": str(port),
                  **({prefix + "ADMIN_PORT": str(admin)} if prefix + "ADMIN_PORT" in
                     literal_env(c) else {}), **env}
        merged = {k: v for k, v in merged.items() if "_K8S_" not in k}  # no API server
        name = f"qf-{service}-{self.suffix}"
        args = ["run", "-d", "--name", name, "--network", "host", *run_flags(pod, c)]
        for v in volumes:
            args += ["-v", v]
        args += [f"--env={k}={v}" for k, v in merged.items()]
        podman(*args, self.images[kind], *c["command"])
        self.names[service] = name
        return name

    def save_logs(self, folder: Path) -> None:
        for service, name in self.names.items():
            done = subprocess.run(["podman", "logs", name], capture_output=True, text=True)
            (folder / f"{service}.log").write_text(done.stdout + done.stderr)

    def remove(self) -> None:
        for name in self.names.values():
            podman("rm", "-f", "-t", "2", name, check=False)


@pytest.fixture
def pods(images: dict[str, str], tmp_path: Path) -> Iterator[PodRunner]:
    runner = PodRunner(images, tmp_path)
    yield runner
    runner.remove()


def start_stack(p: PodRunner, tmp: Path) -> None:
    for color in ("blue", "green"):
        models = p.copy_model(f"inference-{color}")
        p.start(f"inference-{color}", [f"{models}:/models:ro"], {})
    p.start("preprocess", [], {})
    policy_dir, token_dir, ledger_dir = tmp / "policy", tmp / "token", tmp / "ledger"
    policy_dir.mkdir()
    token_dir.mkdir()
    ledger_dir.mkdir()
    ledger_dir.chmod(0o777)  # the ledger's PersistentVolumeClaim, writable by uid 10001
    (policy_dir / "policy.yaml").write_text(p.policy)
    (token_dir / "token").write_text("image-test-token")
    for f in (policy_dir / "policy.yaml", token_dir / "token"):
        f.chmod(0o644)
    for s in ("preprocess", "inference-blue", "inference-green"):
        wait_ready(p.url(s), p.names[s])
    p.start("router", [f"{policy_dir}:/etc/quoteflow/policy:ro",
                       f"{token_dir}:/var/run/secrets/quoteflow/admin:ro",
                       f"{ledger_dir}:/var/lib/quoteflow/ledger"],
            {"QUOTEFLOW_ROUTER_PREPROCESS_URL": p.url("preprocess"),
             "QUOTEFLOW_ROUTER_BLUE_URL": p.url("inference-blue"),
             "QUOTEFLOW_ROUTER_GREEN_URL": p.url("inference-green")})
    wait_ready(p.url("router"), p.names["router"])


def test_stack_from_images_loses_no_quote_when_green_is_killed(pods: PodRunner,
                                                               tmp_path: Path) -> None:
    assert yaml.safe_load(pods.policy)["models"]["motor"]["green_weight"] == 50
    start_stack(pods, tmp_path)
    green = pods.names["inference-green"]
    with DrillLoad(pods.url("router"), rate=100) as load:
        time.sleep(2.0)
        killed_at = time.monotonic()
        podman("kill", "--signal", "KILL", green)
        time.sleep(2.0)
        podman("start", green)  # what the kubelet does next
        wait_ready(pods.url("inference-green"), green)
        back_at = time.monotonic()
        time.sleep(3.0)  # the router's health poll takes Green back
    assert not load.failed, load.failed[:3]
    assert len(load.sent) > 500
    assert any(s.color == "green" for s in load.sent if s.at < killed_at)
    assert any(s.color == "green" for s in load.sent if s.at > back_at + 1.5)
    load.figures("images_green_killed")
    logs = tmp_path / "logs"
    logs.mkdir()
    pods.save_logs(logs)
    assert LogScanner(logs).new_problems() == []


def test_desk_image_serves_as_the_chart_runs_it(images: dict[str, str], tmp_path: Path) -> None:
    """The desk's pod as rendered (uid, caps, read-only root, tmpfs /tmp) with a host
    folder for its volume: it starts, migrates its SQLite database there and serves
    its login page."""
    rendered = render({"products": {"claims": {"enabled": True}}, "desk": {"enabled": True}})
    (dep,) = [d for d in rendered.of_kind("Deployment") if d["metadata"]["name"].endswith("-desk")]
    pod = dep["spec"]["template"]["spec"]
    c = pod["containers"][0]
    data = tmp_path / "desk-data"
    data.mkdir()
    data.chmod(0o777)  # the desk's PersistentVolumeClaim
    port = free_port()
    env = {**literal_env(c), "QUOTEFLOW_DESK_HOST": "127.0.0.1", "QUOTEFLOW_DESK_PORT": str(port)}
    name = f"qf-desk-{uuid.uuid4().hex[:8]}"
    podman("run", "-d", "--name", name, "--network", "host", *run_flags(pod, c),
           "-v", f"{data}:/var/lib/quoteflow/desk", *[f"--env={k}={v}" for k, v in env.items()],
           images["desk"], *c["command"])
    try:
        wait_ready(f"http://127.0.0.1:{port}", name)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:
            assert r.status == 200 and b'name="csrf_token"' in r.read()
        assert (data / "desk.sqlite3").exists()
    finally:
        podman("rm", "-f", "-t", "2", name, check=False)


def layers(tag: str) -> list[str]:
    return list(inspect(tag)["RootFS"]["Layers"])


def test_editing_one_file_rebuilds_only_the_last_layers(images: dict[str, str],
                                                        tmp_path: Path) -> None:
    """A code edit must reuse every dependency layer and land in the image (buildah 1.28
    could install a stale cached wheel through RUN --mount; COPY --from does not)."""
    ctx = tmp_path / "ctx"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for part in ("services", "locks"):
        shutil.copytree(ROOT / part, ctx / part, ignore=ignore)
    for f in ("Dockerfile", ".dockerignore", "pyproject.toml"):
        shutil.copy2(ROOT / f, ctx / f)
    marker = uuid.uuid4().hex
    app = ctx / "services" / "quoteflow" / "preprocess" / "app.py"
    app.write_text(app.read_text() + f'\nBUILD_MARKER = "{marker}"\n')
    edited = f"localhost/quoteflow-preprocess:edited-{marker[:8]}"
    try:
        start = time.monotonic()
        build(ctx, "preprocess", edited, {"REVISION": REVISION, "VERSION": "0.1.0",
                                          "SOURCE": LABELS["org.opencontainers.image.source"]})
        seconds = time.monotonic() - start
        before, after = layers(images["preprocess"]), layers(edited)
        same = next((i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
                    min(len(before), len(after)))
        print(f"IMAGE rebuild after one edit: {seconds:.0f} s, "
              f"{len(after) - same} of {len(after)} layers new")
        assert len(after) == len(before)
        # the wheel's copy, its install, and the empty layer of the RUN before the labels
        assert 1 <= len(after) - same <= 3, (same, len(after))
        out = podman("run", "--rm", "--network", "none", edited, "python", "-c",
                     "import quoteflow.preprocess.app as a; print(a.BUILD_MARKER)")
        assert out.strip() == marker
    finally:
        podman("rmi", "-f", edited, check=False)


def _sizes(images: dict[str, str]) -> dict[str, Any]:
    return {t: round(inspect(tag)["Size"] / 1e6) for t, tag in images.items()}


def test_inference_and_router_images_carry_only_their_extra(images: dict[str, str]) -> None:
    probe = "import importlib.util as u; print([m for m in {} if u.find_spec(m)])"
    inference = podman("run", "--rm", "--network", "none", images["inference"], "python", "-c",
                       probe.format(["sklearn", "onnxruntime", "kubernetes"]))
    router = podman("run", "--rm", "--network", "none", images["router"], "python", "-c",
                    probe.format(["sklearn", "onnxruntime", "kubernetes"]))
    assert inference.strip() == "['onnxruntime']"
    assert router.strip() == "['kubernetes']"
    print("IMAGE sizes (MB):", _sizes(images))
