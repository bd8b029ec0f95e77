"""The outcome gates' options are saved in the rollout state at `start`, and `resume`,
`promote` and `status` use them unless given again; a URL's password is never saved."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from quoteflow.control import rollout_cli
from quoteflow.control.conversion import ConversionRule
from quoteflow.control.outcome_gates import OutcomeSources, redact
from quoteflow.control.rollout_state import FileState, RolloutState
from quoteflow.desk.outcome_gate import GateRule

LEDGER = "postgresql://quoteflow:s3cret@db.internal:5432/ledger"


class Runner:
    """Stands in for RolloutRunner: records the outcome sources it was given."""

    seen: ClassVar[list[OutcomeSources]] = []

    def __init__(self, state: RolloutState, *args: Any, outcomes: OutcomeSources,
                 **kw: Any) -> None:
        self.state = state
        Runner.seen.append(outcomes)

    def run(self) -> RolloutState:
        return self.state


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for var in ("QUOTEFLOW_CLI_LEDGER_URL", "QUOTEFLOW_CLI_DESK_URL"):
        monkeypatch.delenv(var, raising=False)
    Runner.seen = []
    monkeypatch.setattr(rollout_cli, "RolloutRunner", Runner)

    def new_rollout(registry: Any, target: Any, store: FileState, model: str,
                    *args: Any) -> RolloutState:
        state = RolloutState(id="r1", model=model, blue_version="1", green_version="2",
                             steps=[100], interval_seconds=4, confirm_each_step=False,
                             gates={})
        store.save(state)
        return state
    monkeypatch.setattr(rollout_cli, "new_rollout", new_rollout)
    state = tmp_path / "rollout.json"

    def invoke(command: str, *args: str) -> Result:
        return CliRunner().invoke(rollout_cli.rollout, [
            command, "--model", "claims", "--router", "http://127.0.0.1:9",
            "--registry", str(tmp_path / "registry"), "--state", str(state), *args])
    invoke.state = state  # type: ignore[attr-defined]
    return invoke


def test_resume_judges_with_the_options_start_was_given(cli: Any) -> None:
    started = cli("start", "--desk", "http://desk:8008", "--reviewer-margin", "0.1",
                  "--reviewer-min-reviewed", "50", "--ledger", LEDGER,
                  "--conversion-horizon", "2h", "--conversion-margin", "0.03")
    assert started.exit_code == 0, started.output
    text = cli.state.read_text()
    assert "s3cret" not in text  # the state may be a ConfigMap
    saved = json.loads(text)["outcomes"]
    assert saved["ledger_url"] == "postgresql://quoteflow:***@db.internal:5432/ledger"
    assert saved["desk_url"] == "http://desk:8008" and saved["skip"] is False
    assert saved["reviewers"]["margin"] == 0.1 and saved["reviewers"]["min_reviewed"] == 50
    assert saved["conversion"]["horizon_seconds"] == 7200
    assert saved["conversion"]["margin"] == 0.03

    resumed = cli("resume", "--ledger", LEDGER)
    assert resumed.exit_code == 0, resumed.output
    got = Runner.seen[-1]
    assert (got.desk_url, got.ledger_url, got.skip) == ("http://desk:8008", LEDGER, False)
    assert got.reviewers == GateRule(min_reviewed=50, margin=0.1)
    assert got.conversion == ConversionRule(margin=0.03, horizon_seconds=7200)

    # an option given again wins; the others stay as saved
    again = cli("resume", "--ledger", LEDGER, "--reviewer-margin", "0.2", "--desk", "http://d2")
    assert again.exit_code == 0, again.output
    got = Runner.seen[-1]
    assert (got.reviewers.margin, got.reviewers.min_reviewed) == (0.2, 50)
    assert got.desk_url == "http://d2" and got.conversion.horizon_seconds == 7200


def test_a_password_left_out_of_the_state_must_be_given_again(
        cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("start", "--ledger", LEDGER).exit_code == 0
    refused = cli("resume")
    assert refused.exit_code == 2
    assert "its password is not kept in the rollout state: pass --ledger again" in \
        refused.output
    assert len(Runner.seen) == 1  # nothing ran
    monkeypatch.setenv("QUOTEFLOW_CLI_LEDGER_URL", LEDGER)  # or from the environment
    assert cli("resume").exit_code == 0
    assert Runner.seen[-1].ledger_url == LEDGER


def test_status_shows_the_options_and_skip_is_kept(cli: Any) -> None:
    assert cli("start", "--no-outcome-gate", "--reviewer-min-reviewed", "30").exit_code == 0
    shown = cli("status")
    assert shown.exit_code == 0, shown.output
    gates = json.loads(shown.output)["outcome_gates"]
    assert gates["skip"] is True and gates["reviewers"]["min_reviewed"] == 30
    assert cli("resume").exit_code == 0
    assert Runner.seen[-1].skip is True
    # and turned back on by saying so
    assert cli("resume", "--outcome-gate", "--desk", "http://desk").exit_code == 0
    assert Runner.seen[-1].skip is False and Runner.seen[-1].desk_url == "http://desk"


def test_a_state_saved_before_the_options_were_kept_uses_the_command_s(cli: Any) -> None:
    old = RolloutState(id="r0", model="claims", blue_version="1", green_version="2",
                       steps=[100], interval_seconds=4, confirm_each_step=False, gates={})
    FileState(cli.state).save(old)
    raw = json.loads(cli.state.read_text())
    del raw["outcomes"]
    cli.state.write_text(json.dumps(raw))
    assert cli("resume", "--desk", "http://desk", "--reviewer-margin", "0.05").exit_code == 0
    got = Runner.seen[-1]
    assert got.desk_url == "http://desk" and got.reviewers == GateRule(margin=0.05)


def test_redact_keeps_urls_without_a_password() -> None:
    assert redact("sqlite:///var/run/ledger.sqlite3") == "sqlite:///var/run/ledger.sqlite3"
    assert redact("http://127.0.0.1:8008") == "http://127.0.0.1:8008"
    assert redact("postgresql://u:p@h/db") == "postgresql://u:***@h/db"
    assert redact(None) is None


def test_any_shadow_gate_s_share_can_be_set_and_is_kept(cli: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """--shadow-max-share MEASURE=SHARE: checked against the product's shadow gates,
    kept in the state's gates, used by the shadow checks."""
    from quoteflow import products
    from quoteflow.control.analysis import Gates, shadow_evidence
    from tests.unit.control.test_analysis import SHIFT, recorded

    captured: list[Gates] = []

    def new_rollout(registry: Any, target: Any, store: FileState, model: str, steps: Any,
                    interval: float, gates: Gates, *args: Any) -> RolloutState:
        captured.append(gates)
        state = RolloutState(id="r2", model=model, blue_version="1", green_version="2",
                             steps=[100], interval_seconds=4, confirm_each_step=False,
                             gates=asdict(gates))
        store.save(state)
        return state
    monkeypatch.setattr(rollout_cli, "new_rollout", new_rollout)
    ok = cli("start", "--shadow-max-share", "probability_shift=0.9")
    assert ok.exit_code == 0, ok.output
    assert captured[-1].shadow_max_shares == {"probability_shift": 0.9}
    saved = FileState(cli.state).load()
    assert saved is not None and Gates(**saved.gates) == captured[-1]
    for bad in ("probability_shift", "probability_shift=2", "=0.5"):
        out = cli("start", "--shadow-max-share", bad)
        assert out.exit_code == 2 and "MEASURE=SHARE" in out.output, out.output
    # 30% of shadowed answers moved a probability: over the claims product's 10%, under 90%
    moved = recorded({SHIFT: 1000.0, 'probability_shift",le="0.1"}': 700.0,
                      'quoteflow_shadow_measure_count{measure="agreement"': 1000.0,
                      'agreement",le="1.0"}[60s])) - sum': 1000.0})
    claims = products.get("claims").shadow_gates
    strict = {c.gate: c.verdict for c in shadow_evidence(moved, Gates(), 60, claims).checks}
    loose = {c.gate: c.verdict for c in shadow_evidence(moved, captured[-1], 60, claims).checks}
    assert strict["shadow_probability_shift"] == "fail"
    assert loose["shadow_probability_shift"] == "pass"


def test_a_shadow_share_of_a_gate_the_product_lacks_is_refused(
        cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Registry:  # only what admit reads: the Green version's product
        def __init__(self, root: Path) -> None:
            pass

        def get(self, name: str, version: str) -> Any:
            return type("Version", (), {"metadata": {"product": "claims"}})()
    monkeypatch.setattr(rollout_cli, "Registry", Registry)

    def new_rollout(registry: Any, target: Any, store: FileState, model: str,
                    *args: Any) -> RolloutState:
        args[-1]("1", "2")  # admit(blue, green), as the real one does before any move
        raise AssertionError("admitted")
    monkeypatch.setattr(rollout_cli, "new_rollout", new_rollout)
    out = cli("start", "--shadow-max-share", "premium_ratio=0.2")
    assert out.exit_code == 1
    assert ("--shadow-max-share: premium_ratio is not a shadow gate of claims: agreement, "
            "probability_shift") in out.output

