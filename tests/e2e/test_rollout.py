"""Progressive rollouts on the local stack, judged by a real Prometheus.

Four real `quoteflow serve` processes, a real Prometheus (Debian package) scraping
them every second with the chart's rules, steady quote traffic over HTTP, and the
`quoteflow rollout` command run as a subprocess, as an SRE would run it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from quoteflow.control.rollout_state import FileState
from quoteflow.local.stack import Stack
from quoteflow.observability.prometheus import PrometheusProcess, start_prometheus
from quoteflow.products.motor.requests import write_book
from quoteflow.products.motor.training.pipeline import TrainingResult
from quoteflow.registry import Registry
from tests.drills.load import DrillLoad
from tests.e2e.helpers import FAST, TOKEN, get_json, make_stack
from tests.motor_registry import register_run


@pytest.fixture(scope="module")
def registry(real_run: TrainingResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 GLM, v2 gradient boosting, v3 the GLM again (same data and seed: same prices):
    the session's training run registered twice (training again gives the same bytes:
    tests/unit/products/motor/training/test_reproducible.py)."""
    root = tmp_path_factory.mktemp("rollout-registry")
    return register_run(real_run, register_run(real_run, root))


@contextmanager
def stack_with_prometheus(registry: Path, workdir: Path, green: str,
                          env: dict[str, dict[str, str]] | None = None
                          ) -> Iterator[tuple[Stack, PrometheusProcess]]:
    st = make_stack(registry, workdir, green_version=green, env=env)
    with st:
        prom = start_prometheus(st.prometheus_targets(), workdir / "prom", port=None)
        try:
            prom.wait_for('up{job="router"} == 1')
            yield st, prom
        finally:
            prom.stop()


def reviewed(st: Stack, registry: Path) -> list[str]:
    """A dislocation review of the stack's Blue -> Green on a small book, as the actuary
    runs it before a rollout, and its sign-off when it is beyond motor's limits."""
    p = policy(st)
    blue, green = p["blue"]["version"], p["green"]["version"]
    book = write_book(st.config.workdir / "review-book.csv", 400, seed=2)
    out = st.config.workdir / f"review-{blue}-{green}"
    done = subprocess.run(
        [sys.executable, "-m", "quoteflow.cli", "dislocation", "--from", f"motor:{blue}",
         "--to", f"motor:{green}", "--book", str(book), "--out", str(out), "--registry",
         str(registry)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 3), done.stdout + done.stderr
    return [] if done.returncode == 0 else [
        "--accept-dislocation", str(out / "summary.json"), "--reason", "test sign-off"]


def rollout(st: Stack, prom: PrometheusProcess, registry: Path, *args: str,
            timeout: float = 240, review: bool = True,
            outcomes: tuple[str, ...] = ("--no-outcome-gate",)
            ) -> subprocess.CompletedProcess[str]:
    """``outcomes``: the conversion gate's options (by default not judged: DrillLoad's
    customers never bind)."""
    if args[0] == "start" and review:
        args = (*args, *reviewed(st, registry))
    cmd = [sys.executable, "-m", "quoteflow.cli", "rollout", *args,
           "--router", st.config.url("router"), "--prometheus", prom.url,
           "--registry", str(registry), "--state", str(st.config.workdir / "rollout.json"),
           "--actor", "sre-test", *outcomes]
    env = {**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": TOKEN}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def policy(st: Stack) -> dict[str, Any]:
    return get_json(st.config.url("router") + "/admin/traffic")["policy"]


def test_healthy_green_walks_every_step_and_is_promoted(registry: Path, tmp_path: Path) -> None:
    unreviewed = tmp_path / "unreviewed"
    shutil.copytree(registry, unreviewed, ignore=shutil.ignore_patterns("reviews.jsonl"))
    with stack_with_prometheus(registry, tmp_path, green="3") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60) as load:
        # no dislocation review of 1 -> 3: refused before anything moves (issue 26)
        refused = rollout(st, prom, unreviewed, "start", "--steps", "20,100", *FAST,
                          review=False)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "refused: no dislocation review of motor 1 -> 3" in refused.stderr
        assert "quoteflow dislocation --from motor:1 --to motor:3" in refused.stderr
        assert policy(st)["green_weight"] == 0
        assert FileState(st.config.workdir / "rollout.json").load() is None
        result = rollout(st, prom, registry, "start", "--steps", "20,50,100", *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for label in ("shadow (no live traffic)", "step 20%", "step 50%", "step 100%"):
        assert f"evidence at {label}" in out, out
    assert "COMPLETED" in out and "latency_p99" in out and "threshold" in out
    assert not load.failed, load.failed[:3]
    reg = Registry(registry)
    assert reg.stage_of("motor", "3") == "Production"
    last = reg.audit("motor")[-1]
    assert last["to"] == "Production" and last["actor"] == "sre-test"
    assert last["evidence"]["history"], "the promotion carries the rollout's evidence"
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "completed"


def test_slow_green_is_rolled_back_at_the_first_step(registry: Path, tmp_path: Path) -> None:
    slow = {"inference-green": {"QUOTEFLOW_INFERENCE_ARTIFICIAL_DELAY_MS": "60"}}
    with stack_with_prometheus(registry, tmp_path, green="3", env=slow) as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60) as load:
        result = rollout(st, prom, registry, "start", "--steps", "20,50,100", *FAST,
                         "--latency-margin", "0.02")
        after = policy(st)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "evidence at step 20%" in result.stdout
    assert "step 50%" not in result.stdout
    assert "ROLLED BACK" in result.stdout and "latency_p99" in result.stdout
    assert after["green_weight"] == 0 and after["shadow"]["enabled"] is False
    assert not load.failed, load.failed[:3]  # the slow Green cost no customer a quote
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "rolled_back" and "p99" in state.reason


def test_diverging_green_is_stopped_in_shadow(registry: Path, tmp_path: Path) -> None:
    with stack_with_prometheus(registry, tmp_path, green="2") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60) as load:
        result = rollout(st, prom, registry, "start", "--steps", "20,100", *FAST)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "shadow_premium_ratio" in result.stdout and "ROLLED BACK" in result.stdout
    assert "step 20%" not in result.stdout, "a diverging Green must never take live traffic"
    assert load.sent and all(s.color == "blue" for s in load.sent)
    reg = Registry(registry)
    assert reg.stage_of("motor", "2") == "Archived"
    assert "moved by more than 10%" in reg.audit("motor")[-1]["reason"]


def test_no_traffic_holds_and_says_why(registry: Path, tmp_path: Path) -> None:
    with stack_with_prometheus(registry, tmp_path, green="3") as (st, prom):
        result = rollout(st, prom, registry, "start", "--steps", "50,100", *FAST,
                         "--hold-timeout", "6s")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "holding at shadow" in result.stdout and "need 40 to judge" in result.stdout
        assert "PASS" not in result.stdout and "FAIL" not in result.stdout
        state = FileState(st.config.workdir / "rollout.json").load()
        assert state is not None and state.status == "running" and state.step_index == -1
        assert policy(st)["green_weight"] == 0
        # the held rollout survives the command: it can be aborted afterwards
        aborted = rollout(st, prom, registry, "abort")
        assert aborted.returncode == 0, aborted.stdout + aborted.stderr
        state = FileState(st.config.workdir / "rollout.json").load()
        assert state is not None and state.status == "aborted"


class Binder:
    """Customers who bind: every ``blue_every``-th Blue quote and ``green_every``-th
    Green quote the load got is bound at once (POST /v1/quotes/{id}/bind)."""

    def __init__(self, url: str, load: DrillLoad, blue_every: int, green_every: int) -> None:
        self.url, self.load, self.every = url, load, {"blue": blue_every,
                                                      "green": green_every}
        self.bound = {"blue": 0, "green": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        seen = {"blue": 0, "green": 0}
        done = 0
        while not self._stop.wait(0.2):
            new, done = self.load.sent[done:], len(self.load.sent)
            for s in new:
                if s.status != 200 or s.quote_id is None or s.color not in seen:
                    continue
                seen[s.color] += 1
                if seen[s.color] % self.every[s.color] == 0:
                    req = urllib.request.Request(
                        f"{self.url}/v1/quotes/{s.quote_id}/bind", method="POST")
                    with urllib.request.urlopen(req, timeout=5) as r:
                        assert r.status == 200
                    self.bound[s.color] += 1

    def __enter__(self) -> Binder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def test_green_converting_worse_is_rolled_back_on_the_ledger(registry: Path,
                                                             tmp_path: Path) -> None:
    """Issue 27 item 1 on a real stack: the same prices, but Green's customers bind one
    quote in five and Blue's one in two; the conversion gate reads the router's SQLite
    ledger and rolls Green back, stating effect, interval, p-value and power, with the
    mean premium by color beside it."""
    with stack_with_prometheus(registry, tmp_path, green="3") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60) as load, \
            Binder(st.config.url("router"), load, blue_every=2, green_every=5) as binder:
        # judged on conversion: a p99 blip of a loaded machine must not decide first
        result = rollout(st, prom, registry, "start", "--steps", "50,100", *FAST,
                         "--latency-margin", "1",
                         outcomes=("--ledger", f"sqlite:///{st.config.ledger_file}",
                                   "--conversion-horizon", "1s"))
    print(result.stdout)
    assert result.returncode == 3, result.stdout + result.stderr
    out = result.stdout
    assert "evidence at step 50%" in out and "step 100%" not in out
    assert binder.bound["green"] >= 20 and binder.bound["blue"] >= 2 * binder.bound["green"]
    conversion = [line for line in out.splitlines() if line.strip().startswith("conversion")]
    assert conversion and "fail" in conversion[-1], out
    assert "p " in conversion[-1] and "power" in conversion[-1] and "effect" in conversion[-1]
    assert "mean_premium" in out and "EUR" in out
    assert "ROLLED BACK" in out and "converts worse than the margin" in out
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "rolled_back"
    assert "conversion" in state.reason


def test_green_converting_alike_holds_stating_the_power(registry: Path,
                                                        tmp_path: Path) -> None:
    """Both colors' customers bind one quote in two: the seconds of a test stack cannot
    show a 20% drop would be seen, so the gate holds and says with what power."""
    with stack_with_prometheus(registry, tmp_path, green="3") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60) as load, \
            Binder(st.config.url("router"), load, blue_every=2, green_every=2):
        # this test is about the conversion gate: a p99 blip of a loaded test machine
        # must not roll it back first (the latency gate has its own tests above)
        result = rollout(st, prom, registry, "start", "--steps", "50,100", *FAST,
                         "--hold-timeout", "10s", "--latency-margin", "1",
                         outcomes=("--ledger", f"sqlite:///{st.config.ledger_file}",
                                   "--conversion-horizon", "1s"))
        missing = rollout(st, prom, registry, "resume", "--hold-timeout", "1s",
                          outcomes=("--ledger", f"sqlite:///{tmp_path}/nowhere.sqlite3",
                                    "--conversion-horizon", "1s"))
    print(result.stdout, missing.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    conversion = [line for line in result.stdout.splitlines()
                  if line.strip().startswith("conversion")]
    assert conversion and all(" hold " in line for line in conversion), result.stdout
    assert any("power" in line and "cannot tell yet" in line for line in conversion)
    assert "FAIL" not in result.stdout and "holding at step 50%" in result.stdout
    # a ledger the rollout cannot read holds it, saying so
    assert missing.returncode == 0, missing.stdout + missing.stderr
    assert "cannot read the ledger" in missing.stdout and "FAIL" not in missing.stdout
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "running" and state.step_index == 0
