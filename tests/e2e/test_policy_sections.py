"""One policy file, one section per model: a motor and a claims router side by side.

Real processes: two stacks (motor pricing and claim triage) whose routers share one
policy file, each running its own model's section; `quoteflow traffic --model` changes
one section and waits only for that model's routers; `kill --model all` stops both.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from quoteflow.local.stack import Stack
from tests.e2e.helpers import TOKEN, claim_body, get_json, make_stack, post_quotes, run

Pair = tuple[Stack, Stack]


@pytest.fixture
def pair(trained_registry: Path, claims_registry: Path, tmp_path: Path) -> Iterator[Pair]:
    shared = tmp_path / "policy.yaml"
    motor = make_stack(trained_registry, tmp_path / "motor", green_weight=10,
                       shared_policy_file=shared)
    claims = make_stack(claims_registry, tmp_path / "claims", model_name="claims",
                        shared_policy_file=shared)
    with motor, claims:
        yield motor, claims


def traffic(pair: Pair, *args: str) -> subprocess.CompletedProcess[str]:
    routers = [a for st in pair for a in ("--router", st.config.url("router"))]
    env = {**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": TOKEN}
    return subprocess.run([sys.executable, "-m", "quoteflow.cli", "traffic", *args, *routers],
                          env=env, capture_output=True, text=True, timeout=60)


def view(st: Stack) -> dict:
    return get_json(st.config.url("router") + "/admin/traffic")  # type: ignore[no-any-return]


def test_each_router_runs_its_own_section_of_one_file(pair: Pair) -> None:
    motor, claims = pair
    doc = yaml.safe_load(motor.config.policy_file.read_text())
    assert set(doc["models"]) == {"motor", "claims"}
    assert view(motor)["model"] == "motor" and view(motor)["policy"]["green_weight"] == 10
    assert view(claims)["model"] == "claims" and view(claims)["policy"]["green_weight"] == 0
    answers = run(post_quotes(claims.config.url("router"),
                              (claim_body(i) for i in range(20)), path="/v1/claims/triage"))
    assert {a.status for a in answers} == {200}
    assert {a.body["model"]["color"] for a in answers} == {"blue"}


def test_traffic_changes_one_model_and_kill_all_stops_both(pair: Pair) -> None:
    motor, claims = pair
    motor_before = view(motor)["generation"]
    result = traffic(pair, "set", "--model", "claims", "--green", "100")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "claims: generation" in result.stdout and "all 1 router(s)" in result.stdout
    assert view(claims)["policy"]["green_weight"] == 100
    assert view(motor)["generation"] == motor_before  # its section did not move
    assert view(motor)["policy"]["green_weight"] == 10
    answers = run(post_quotes(claims.config.url("router"),
                              (claim_body(i) for i in range(20)), path="/v1/claims/triage"))
    assert {a.body["model"]["color"] for a in answers} == {"green"}

    shown = traffic(pair, "show", "--model", "claims")
    assert "model:  claims" in shown.stdout and "100% of live traffic" in shown.stdout

    killed = traffic(pair, "kill", "--model", "all")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert "motor: generation" in killed.stdout and "claims: generation" in killed.stdout
    for st in pair:
        policy = view(st)["policy"]
        assert policy["green_weight"] == 0 and not policy["shadow"]["enabled"]
    doc = yaml.safe_load(motor.config.policy_file.read_text())
    assert {m: s["green_weight"] for m, s in doc["models"].items()} == {"motor": 0, "claims": 0}


def test_all_is_for_the_kill_switch_and_an_unserved_model_is_named(pair: Pair) -> None:
    refused = traffic(pair, "set", "--model", "all", "--green", "5")
    assert refused.returncode != 0 and "kill switch only" in refused.stderr
    unknown = traffic(pair, "set", "--model", "home", "--green", "5")
    assert unknown.returncode != 0
    assert "none of the routers serves model 'home'" in unknown.stderr
    assert "serves claims" in unknown.stderr


def test_a_router_that_is_down_does_not_stop_another_models_kill(pair: Pair) -> None:
    from quoteflow.local.stack import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    killed = traffic(pair, "kill", "--model", "claims", "--router", dead)
    assert killed.returncode == 0, killed.stdout + killed.stderr
    assert not view(pair[1])["policy"]["shadow"]["enabled"]
    alone = subprocess.run([sys.executable, "-m", "quoteflow.cli", "traffic", "kill",
                            "--model", "claims", "--router", dead],
                           env={**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": TOKEN},
                           capture_output=True, text=True, timeout=60)
    assert alone.returncode != 0 and "unreachable" in alone.stderr, alone.stderr
