"""Configuration per environment: merge, validation with key paths, CLI, train --env."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from quoteflow.actuarial import danish
from quoteflow.cli import main
from quoteflow.products.motor.pricing import PricingConfig
from quoteflow.products.motor.training import config


def test_every_shipped_environment_validates_and_prices_in_eur() -> None:
    assert config.environments() == ["dev", "prod"]
    for env in (None, "dev", "prod"):
        cfg = config.load(env)
        assert cfg.training.data.reporting_threshold == 0
        assert len(cfg.training.severity.point_masses) == 6
        assert cfg.pricing.currency == "EUR"
    assert config.load("dev").training.severity.uncertainty.abc_samples == 2000
    # one pricing config: the no --env default is base.yaml's section itself
    assert PricingConfig.shipped() == config.load(None).pricing


def test_deep_merge_keeps_siblings() -> None:
    merged = config.deep_merge({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}})
    assert merged == {"a": {"b": 1, "c": [3]}, "d": 1}


def test_every_error_names_its_key_path(tmp_path: Path) -> None:
    shutil.copy(config.CONFIG_DIR / "base.yaml", tmp_path / "base.yaml")
    (tmp_path / "bad.yaml").write_text(
        "training:\n  severity:\n    families: [lognormal, pareto]\n"
        "    splice: {candidates: 1, colour: red}\n"
        "pricing: {expense_loading: 2, currency: dkk}\n")
    with pytest.raises(config.ConfigError) as e:
        config.load("bad", tmp_path)
    text = str(e.value)
    for path in ("training.severity.families.1", "training.severity.splice.candidates",
                 "training.severity.splice.colour", "pricing.expense_loading",
                 "pricing.currency"):
        assert f"\n{path}: " in text, path
    assert len(e.value.problems) == 5


def test_validate_config_cli() -> None:
    runner = CliRunner()
    r = runner.invoke(main, ["validate-config", "--env", "prod"])
    assert r.exit_code == 0 and "reporting_threshold: 0.0" in r.output
    assert "currency: EUR" in r.output
    assert "quote_validity_days: 30" in r.output
    r = runner.invoke(main, ["validate-config", "--env", "staging"])
    assert r.exit_code != 0 and "unknown environment 'staging'; known: dev, prod" in r.output


def test_train_env_refuses_file_options(tmp_path: Path) -> None:
    r = CliRunner().invoke(main, ["train", "--env", "dev", "--registry", str(tmp_path),
                                  "--cpi", str(danish.CPI_TABLE)])
    assert r.exit_code != 0 and "drop --cpi" in r.output
