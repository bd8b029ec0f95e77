"""Claim triage that learns from its reviewers, end to end (issue 27 item 4), over real
HTTP as the README runs it: a claims stack (router, preprocess, inference blue and
green), a real Prometheus with the chart's rules, and the desk.

Agents file generated claims through the desk's new-claim form (each has the
generator's true class); a scripted reviewer (an oracle) decides every claim triage
sends to the queue with that class. `quoteflow desk export-decisions` exports the
decisions, `quoteflow train --product claims --labels` retrains on them and registers
a version naming its label set, which becomes Green and is rolled out with
`quoteflow rollout --desk`: while the rollout runs, agents keep filing and the oracle
keeps deciding, so the reviewer gate (read from the desk's /metrics) gets reviewed
claims of each color.

Numbers (chosen from the same seeds in-process first, then measured here):
- Claims filed: the generator's with a true fraud probability of at least 0.1, and three
  in ten of the others. v1 queues about half of them (36% of all-generator claims) and
  about a quarter of the reviewed ones are frauds (12%): the gate's fraud recall needs
  frauds among reviewed claims, and gets them sooner.
- 2,000 claims filed before any rollout: ~1,040 reviewed, all triaged by v1 (Blue).
- Retrained on them (weight 5, the config's), the logistic regression decided otherwise
  than v1 on 0.8-5.6% of shadowed claims in four runs (its held-out reviews follow the
  desk's random references): --divergence 0.1, since a retrain is meant to differ.
  Live, with 427-453 Green reviews: agreement -0.003 to +0.012 (interval low ends
  -0.046 to -0.057), fraud recall -0.014 to -0.019 (low ends -0.073 to -0.085): a pass
  at the first look that tests.
- The drill swaps fraud and valid and weighs the reviews 100 (--reviewed-weight). At the
  config's weight 5 the swap moved agreement by 1-2 points only (24,000 generated rows
  outweigh ~700 reviews): no feasible sample tells that from Blue. The swapped Green
  decides otherwise than Blue on 55-66% of claims and moves a probability by >0.1 on
  94%, so the shadow gates stop it first; the drill allows any shadow difference
  (--divergence 1 --shadow-max-share probability_shift=1) to show that the reviewer gate
  alone stops it: agreement -0.17 to -0.20 (high ends -0.12 to -0.15) at its first look
  in four runs. A CI run (2026-12-03) then saw -0.157 to -0.177 with high ends -0.103 to
  -0.119 for 90 s: never beyond a 0.12 margin, so it held until its timeout and the
  module's next rollout found the claims to file used up. This drill judges with
  SWAPPED_MARGIN 0.05, which those high ends are well past (the retrained Green, judged
  at 0.12, needs that room for its low ends).
- The gate's statistics as shipped (Newcombe interval, alpha spending over looks, both
  measures), with --reviewer-min-reviewed 400 (200 by default) and --reviewer-margin 0.12
  (0.02 by default, which needs ~6,000 reviews a color). Simulated with these shares and
  ~900 Blue reviews over 1,000 rollouts: the retrained Green passes within eight looks in
  98.4% (mostly at the first), the swapped one fails in 99.8% (at the first).
- Latency is judged loosely (--latency-budget 2 --latency-margin 1): two busy cores
  filing claims as fast as three agents can are not a latency test (it has its own).
- The module takes 95-170 s on the shared 2-core machine (training 7-40 s a run, ~70
  claims filed a second); once, with the machine's load at 4, its first training
  alone took 5 minutes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quoteflow.control.rollout_state import FileState, RolloutState
from quoteflow.local.stack import Stack
from quoteflow.observability.prometheus import PrometheusProcess, start_prometheus
from quoteflow.products.claims import generator, training
from quoteflow.products.claims.features import CLASSES
from quoteflow.products.claims.labels import load as load_labels
from quoteflow.registry import Registry
from tests.e2e.desk_helpers import DeskProcess, Oracle
from tests.e2e.helpers import TOKEN, get_json, make_stack

BEFORE = 2000  # claims filed and reviewed before any rollout
MIN_REVIEWED, MARGIN, SWAPPED_MARGIN = "400", "0.12", "0.05"


def reviewable_claims(n: int, seed: int = 2027) -> list[tuple[dict[str, Any], str]]:
    """Generated claims with their true class: every claim with a true fraud probability
    of at least 0.1, and three in ten of the others (see the module's doc)."""
    sample = generator.generate(n, seed=seed)
    keep = np.random.default_rng(seed).random(n) < 0.3
    rows = np.flatnonzero((sample.true_probabilities[:, 1] >= 0.1) | keep)
    return [(r, CLASSES[int(sample.labels[i])])
            for r, i in zip(sample.requests(rows), rows, strict=True)]


@dataclass
class Loop:
    stack: Stack
    prom: PrometheusProcess
    desk: DeskProcess
    oracle: Oracle
    registry: Path
    labels: Path  # the decisions exported after the first BEFORE claims


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    """claims v1 (logistic regression, Blue) and v2; a stack, Prometheus, the desk; the
    first claims filed, reviewed and exported."""
    registry = tmp_path_factory.mktemp("loop-registry")
    training.register(training.train(seed=training.DEFAULT_SEED), Registry(registry))
    work = tmp_path_factory.mktemp("loop")
    with make_stack(registry, work / "stack", model_name="claims", green_version="2") as st:
        prom = start_prometheus(st.prometheus_targets(), work / "prom", port=None)
        (work / "desk").mkdir()
        desk = DeskProcess(work / "desk", st.config.url("router"))
        try:
            prom.wait_for('up{job="router",model="claims"} == 1')
            desk.add_users()
            desk.start()
            # ~18,000 claims: a rollout that holds to its timeout files ~4,500
            oracle = Oracle(desk.url, reviewable_claims(60_000))
            oracle.file(BEFORE)
            assert not oracle.failed, oracle.failed[:3]
            labels = work / "decisions.jsonl"
            desk.cli("export-decisions", "--out", str(labels))
            yield Loop(st, prom, desk, oracle, registry, labels)
        finally:
            desk.stop()
            prom.stop()


def retrain(loop: Loop, labels: Path, *extra: str) -> tuple[str, str]:
    """`quoteflow train --product claims --labels`: (the logistic regression's new
    version, what the command printed)."""
    done = subprocess.run([sys.executable, "-m", "quoteflow.cli", "train", "--product",
                           "claims", "--labels", str(labels), "--registry", str(loop.registry),
                           "--actor", "data-team", *extra],
                          capture_output=True, text=True, timeout=240)
    said = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    m = re.search(r"registered claims:(\d+) logistic_regression", said)
    assert m, said
    return m.group(1), said


def as_green(st: Stack, version: str) -> None:
    """Deploy ``version`` as Green, no live traffic, no shadow (a restart of `quoteflow
    up` picks the newest version as Green the same way)."""
    c = st.config
    c.green_version, c.green_weight, c.shadow = version, 0, False
    st.restart_service("inference-green")
    st.write_policy()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        view = get_json(c.url("router") + "/admin/traffic")
        green = view["upstreams"]["green"]
        if view["policy"]["green"]["version"] == version and green["ready"] and \
                green["version"] == version:
            return
        time.sleep(0.2)
    raise AssertionError(f"the router does not route to Green v{version}: {view}")


def rollout(loop: Loop, state: Path, *args: str,
            margin: str = MARGIN) -> subprocess.CompletedProcess[str]:
    """`quoteflow rollout start` with the reviewer gate on this desk, while agents file
    claims and the oracle decides them."""
    st = loop.stack
    cmd = [sys.executable, "-m", "quoteflow.cli", "rollout", "start", "--model", "claims",
           "--router", st.config.url("router"), "--prometheus", loop.prom.url,
           "--registry", str(loop.registry), "--state", str(state), "--actor", "sre-test",
           "--steps", "100", "--interval", "4s", "--min-requests", "40",
           "--latency-budget", "2", "--latency-margin", "1", "--hold-timeout", "90s",
           "--desk", loop.desk.url, "--reviewer-min-reviewed", MIN_REVIEWED,
           "--reviewer-margin", margin, *args]
    env = {**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": TOKEN}
    loop.oracle.start()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    finally:
        loop.oracle.stop()
    print(done.stdout)  # the evidence as an SRE reads it (-s shows it)
    return done


def gate_lines(stdout: str) -> list[str]:
    return [x.strip() for x in stdout.splitlines()
            if x.strip().startswith(("reviewer_agreement", "reviewer_fraud_recall"))]


def reviewer_checks(state: RolloutState) -> dict[str, dict[str, Any]]:
    """The reviewer gate's checks of the rollout's last judged look."""
    judged = [h for h in state.history if (h.get("evidence") or {}).get("checks")]
    return {c["gate"]: c for c in judged[-1]["evidence"]["checks"]
            if c["gate"].startswith("reviewer_")}


def test_the_first_reviews_are_exported_as_labels(loop: Loop) -> None:
    rows = [json.loads(x) for x in loop.labels.read_text().splitlines()]
    decided = {c.reference: truth for c, truth in loop.oracle.decided}
    assert len(rows) == len(decided) > 0.4 * BEFORE  # every decision, once
    assert all(decided[r["claim_reference"]] == r["label"] for r in rows)
    assert {r["triage_model"]["version"] for r in rows} == {"1"}
    assert {r["reviewer"] for r in rows} == {"rita"}
    assert len(load_labels(loop.labels)) == len(rows)  # trainable as exported


def test_a_green_trained_on_swapped_labels_is_stopped_by_the_reviewer_gate(
        loop: Loop, tmp_path: Path) -> None:
    swapped = tmp_path / "decisions-swapped.jsonl"
    swap = {"fraud": "valid", "valid": "fraud"}
    rows = [json.loads(x) for x in loop.labels.read_text().splitlines()]
    swapped.write_text("".join(json.dumps({**r, "label": swap.get(r["label"], r["label"])})
                               + "\n" for r in rows))
    version, _ = retrain(loop, swapped, "--reviewed-weight", "100")
    as_green(loop.stack, version)
    state_file = tmp_path / "rollout.json"
    result = rollout(loop, state_file, "--divergence", "1",
                     "--shadow-max-share", "probability_shift=1", margin=SWAPPED_MARGIN)
    said = result.stdout + result.stderr
    assert result.returncode == 3, said
    assert "ROLLED BACK" in result.stdout and "COMPLETED" not in said, said
    why = result.stdout.split("Why: ", 1)[1]
    assert "reviewer_agreement" in why, why
    failed = [x for x in gate_lines(result.stdout) if x.startswith("reviewer_agreement")]
    assert failed and " fail " in failed[-1], gate_lines(result.stdout)
    state = FileState(state_file).load()
    assert state is not None and state.status == "rolled_back"
    agreement = reviewer_checks(state)["reviewer_agreement"]
    assert agreement["verdict"] == "fail" and agreement["value"] < -float(SWAPPED_MARGIN)
    view = get_json(loop.stack.config.url("router") + "/admin/traffic")
    assert view["policy"]["green_weight"] == 0 and not view["policy"]["shadow"]["enabled"]
    reg = Registry(loop.registry)
    assert reg.stage_of("claims", version) == "Archived"
    assert "reviewer_agreement" in reg.audit("claims")[-1]["reason"]
    assert loop.oracle.reviewed(version, "green") >= int(MIN_REVIEWED)
    assert not loop.oracle.failed, loop.oracle.failed[:3]


def test_a_green_retrained_on_reviews_passes_the_reviewer_gate_and_completes(
        loop: Loop, tmp_path: Path) -> None:
    version, trained = retrain(loop, loop.labels)
    print(trained)
    meta = Registry(loop.registry).get("claims", version).metadata
    label_set = load_labels(loop.labels)
    assert (meta["labels"]["count"], meta["labels"]["sha256"], meta["labels"]["source"],
            meta["labels"]["weight"]) == (len(label_set), label_set.fingerprint(),
                                          "decisions.jsonl", 5)
    as_green(loop.stack, version)
    state_file = tmp_path / "rollout.json"
    result = rollout(loop, state_file, "--divergence", "0.1")
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "COMPLETED" in result.stdout and "ROLLED BACK" not in said, said
    assert "shadow_agreement" in result.stdout
    lines = gate_lines(result.stdout)
    assert {x.split()[0] for x in lines if " pass " in x} == {"reviewer_agreement",
                                                             "reviewer_fraud_recall"}, lines
    state = FileState(state_file).load()
    assert state is not None and state.status == "completed"
    assert state.outcomes["desk_url"] == loop.desk.url
    assert state.outcomes["reviewers"]["min_reviewed"] == int(MIN_REVIEWED)
    checks = reviewer_checks(state)
    assert {c["verdict"] for c in checks.values()} == {"pass"}
    assert all(c["value"] > -float(MARGIN) for c in checks.values())
    assert Registry(loop.registry).stage_of("claims", version) == "Production"
    assert loop.oracle.reviewed(version, "green") >= int(MIN_REVIEWED)
    assert not loop.oracle.failed, loop.oracle.failed[:3]
    table = loop.desk.quoteflow("claims", "outcomes", "--database", loop.desk.db_url)
    print(table)
    assert re.search(rf"^{version}\s+green\s+\d+", table, re.M), table
    assert re.search(r"^1\s+blue\s+\d+", table, re.M), table
