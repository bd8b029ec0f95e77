"""`quoteflow train` from the command line: the shared options, a bad file's message,
and the default run (motor's GLM then GBM, registered in Staging)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from quoteflow.cli import main
from quoteflow.registry import Registry


def test_help() -> None:
    result = CliRunner().invoke(main, ["train", "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def test_train_cannot_move_to_production(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "--registry", str(tmp_path),
                                       "--stage", "Production"])
    assert result.exit_code == 2 and "'Production' is not 'Staging'" in result.output
    assert Registry(tmp_path).names() == []


def test_train_refuses_a_bad_file_with_its_message(tmp_path: Path) -> None:
    bad = tmp_path / "policies.csv"
    bad.write_text("Area,BonusMalus\nD,50\n")
    result = CliRunner().invoke(main, ["train", "--registry", str(tmp_path / "r"),
                                       "--policies", str(bad)])
    assert result.exit_code == 1
    assert "policies.csv: missing column(s) 'DrivAge'" in result.output


def test_train_with_no_arguments_registers_glm_then_gbm_in_staging(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUOTEFLOW_REGISTRY_DIR", str(tmp_path))
    result = CliRunner().invoke(main, ["train", "--stage", "Staging", "--actor", "cronjob"])
    assert result.exit_code == 0, result.output
    reg = Registry(tmp_path)
    assert [reg.get("motor", v).metadata["model_type"] for v in reg.versions("motor")] == [
        "poisson_glm", "hist_gradient_boosting"]
    assert reg.stages("motor") == {"1": "Staging", "2": "Staging"}
    assert {e["actor"] for e in reg.audit("motor")} == {"cronjob"}
    assert "report.md" in result.output
