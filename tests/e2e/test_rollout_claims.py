"""Claim triage rolls out on its own measures: decision agreement in shadow, not premiums.

A real claims stack (four `quoteflow serve` processes), a real Prometheus scraping it
with the chart's rules, generated claims POSTed to /v1/claims/triage, and
`quoteflow rollout --model claims` run as an SRE would. Measured here on 2,000
generated claims: the gradient boosting (v2) decides otherwise than the logistic
regression (v1) on 5.5% of them, a class probability moves by more than 0.1 on 6.4%;
v3 is v1 registered again (identical bytes), which agrees on every claim.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from quoteflow.control.rollout_state import FileState
from quoteflow.local.stack import Stack
from quoteflow.observability.prometheus import PrometheusProcess, start_prometheus
from quoteflow.products.claims import generator, training
from quoteflow.registry import Registry
from tests.drills.load import DrillLoad
from tests.e2e.desk_helpers import DeskProcess
from tests.e2e.helpers import FAST, TOKEN, get_json, make_stack

TRIAGE = "/v1/claims/triage"
CLAIMS = generator.generate(5000, seed=2026).requests(range(5000))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """claims v1 logistic regression, v2 gradient boosting, v3 = v1, v4 = v2."""
    root = tmp_path_factory.mktemp("claims-rollout-registry")
    run = training.train(seed=training.DEFAULT_SEED)
    training.register(run, Registry(root))
    training.register(run, Registry(root))
    return root


def claim(i: int) -> dict:
    return {**CLAIMS[i % len(CLAIMS)], "claim_reference": f"CLM-2026-{i:06d}"}


@contextmanager
def claims_stack(registry: Path, workdir: Path, green: str
                 ) -> Iterator[tuple[Stack, PrometheusProcess]]:
    st = make_stack(registry, workdir, model_name="claims", green_version=green)
    with st:
        prom = start_prometheus(st.prometheus_targets(), workdir / "prom", port=None)
        try:
            prom.wait_for('up{job="router",model="claims"} == 1')
            yield st, prom
        finally:
            prom.stop()


def rollout(st: Stack, prom: PrometheusProcess, registry: Path, *args: str,
            outcomes: tuple[str, ...] = ("--no-outcome-gate",)
            ) -> subprocess.CompletedProcess[str]:
    """``outcomes``: the reviewer gate's options (by default none: no desk here)."""
    cmd = [sys.executable, "-m", "quoteflow.cli", "rollout", *args, "--model", "claims",
           "--router", st.config.url("router"), "--prometheus", prom.url,
           "--registry", str(registry), "--state", str(st.config.workdir / "rollout.json"),
           "--actor", "sre-test", *outcomes]
    env = {**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": TOKEN}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)


def test_a_disagreeing_triage_model_is_stopped_in_shadow(registry: Path,
                                                          tmp_path: Path) -> None:
    with claims_stack(registry, tmp_path, green="2") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60, body=claim, path=TRIAGE) as load:
        # 1% tolerated disagreement against the ~5.5% measured: a clear failure
        result = rollout(st, prom, registry, "start", "--steps", "50,100", *FAST,
                         "--divergence", "0.01")
        view = get_json(st.config.url("router") + "/admin/traffic")
    said = result.stdout + result.stderr
    assert result.returncode == 3, said
    assert "shadow_agreement" in said and "decided otherwise than Blue" in said, said
    assert "premium" not in result.stdout, "claims are judged on their own measures"
    assert "step 50%" not in said, "a disagreeing Green must never take live triage"
    assert load.sent and not load.failed, load.failed[:3]
    assert {s.color for s in load.sent} == {"blue"}
    assert view["model"] == "claims" and view["policy"]["green_weight"] == 0
    assert not view["policy"]["shadow"]["enabled"]
    reg = Registry(registry)
    assert reg.stage_of("claims", "2") == "Archived"
    assert "decided otherwise" in reg.audit("claims")[-1]["reason"]


def test_an_agreeing_triage_model_passes_shadow_and_takes_live_traffic(
        registry: Path, tmp_path: Path) -> None:
    with claims_stack(registry, tmp_path, green="3") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60, body=claim, path=TRIAGE) as load:
        result = rollout(st, prom, registry, "start", "--steps", "100", *FAST)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "shadow_agreement" in said and "COMPLETED" in said, said
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "completed"
    shadow = next(h for h in state.history if h["decision"] == "pass")["evidence"]["checks"]
    agreement = next(c for c in shadow if c["gate"] == "shadow_agreement")
    assert agreement["verdict"] == "pass" and agreement["value"] == 0.0
    assert not load.failed, load.failed[:3]
    assert any(s.color == "green" for s in load.sent)
    assert Registry(registry).stage_of("claims", "3") == "Production"


def test_live_triage_waits_for_reviewed_claims_from_the_desk(registry: Path,
                                                              tmp_path: Path) -> None:
    """Issue 27 item 2 on a real stack and desk: no reviewer has decided a claim yet, so
    the reviewer gate (read from the desk's /metrics) holds the live step, saying how
    many reviewed claims it needs per color."""
    (tmp_path / "desk").mkdir()
    with claims_stack(registry, tmp_path, green="3") as (st, prom), \
            DrillLoad(st.config.url("router"), rate=60, body=claim, path=TRIAGE):
        desk = DeskProcess(tmp_path / "desk", st.config.url("router"))
        desk.start()
        try:
            result = rollout(st, prom, registry, "start", "--steps", "100", *FAST,
                             "--hold-timeout", "3s", outcomes=("--desk", desk.url))
        finally:
            desk.stop()
    print(result.stdout)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "COMPLETED" not in result.stdout and "holding at step 100%" in result.stdout
    for gate in ("reviewer_agreement", "reviewer_fraud_recall"):
        line = next(x for x in result.stdout.splitlines() if x.strip().startswith(gate))
        assert " hold " in line and "the gate needs 200 for each color" in line, line
    state = FileState(st.config.workdir / "rollout.json").load()
    assert state is not None and state.status == "running"
