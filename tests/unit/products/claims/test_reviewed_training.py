"""`quoteflow train --product claims --labels`: reviewed claims join the fit, the version
names its label set, and the new version is compared with the current one on the
reviewed claims it did not train on. Small runs (2,000 generated claims)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from quoteflow.products.claims import training
from quoteflow.products.claims.labels import load
from quoteflow.products.claims.training_cli import summary
from quoteflow.registry import ModelVersion, Registry
from quoteflow.training import tracking
from quoteflow.training.cli import train as train_cli
from tests.unit.products.claims.test_labels import lines, rows

SMALL = """currency: EUR
costs: {missed_fraud: 3000, manual_review: 120, valid_wrongly_held: 250,
        needless_document_request: 40, incomplete_paid: 400}
training: {rows: 2000, validation_fraction: 0.2, test_fraction: 0.2, reviewed_weight: 5,
           reviewed_holdout: 0.3}
"""


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("reviewed")
    config, labels = root / "claims.yaml", root / "decisions.jsonl"
    config.write_text(SMALL)
    labels.write_text("\n".join(lines(rows(300, seed=11))) + "\n")
    return root, config, labels


@pytest.fixture(scope="module")
def labelled(setup: tuple[Path, Path, Path]
             ) -> tuple[Registry, training.TrainingResult, list[ModelVersion]]:
    """v1 (Production) and v2 trained without labels; v3, v4 with them."""
    root, config, labels = setup
    registry = Registry(root / "registry")
    training.register(training.train(config=config), registry)
    registry.move("claims", "1", "Staging", "test", "candidate")
    registry.move("claims", "1", "Production", "test", "current")
    run = training.train(config=config, labels=labels)
    return registry, run, training.register(run, registry)


def test_a_version_trained_on_reviewed_claims_names_them_and_is_compared(
        setup: tuple[Path, Path, Path],
        labelled: tuple[Registry, training.TrainingResult, list[ModelVersion]]) -> None:
    _, config, labels = setup
    registry, run, versions = labelled
    assert [mv.version for mv in versions] == ["3", "4"]
    label_set = load(labels)
    for mv in versions:
        meta = mv.metadata
        got = meta["labels"]
        assert (got["count"], got["sha256"], got["weight"]) == (300, label_set.fingerprint(), 5)
        assert got["trained_on"] + got["held_out"] == 300 and 50 < got["held_out"] < 130
        assert got["first_decided_at"] < got["last_decided_at"]
        assert meta["params"]["labels_sha256"] == label_set.fingerprint()
        held = meta["metrics"]["reviewed_holdout"]
        assert held["new"]["rows"] == held["current"]["rows"] == got["held_out"]
        assert (held["current"]["version"], held["current"]["stage"]) == ("1", "Production")
        assert 0 < held["new"]["agreement"] <= 1 and held["new"]["cost_per_claim"] >= 0
    report = (versions[0].path / "report.md").read_text()
    assert "## Reviewed claims" in report and "| current (v1, Production) |" in report
    lines_out = summary(versions)
    assert lines_out[0].startswith("reviewed claims: 300 from decisions.jsonl (decided ")
    assert "held-out reviewed claims: agreement" in lines_out[2]
    assert "current v1:" in lines_out[2]
    # the reviewed claims changed the fit; the same labels give the same bytes
    plain = registry.get("claims", "1").read_verified()
    assert versions[0].read_verified() != plain
    again = training.train(config=config, labels=labels)
    assert again.models[0].onnx_bytes == run.models[0].onnx_bytes


def test_a_bad_label_file_is_refused_before_training(setup: tuple[Path, Path, Path]) -> None:
    root, _, labels = setup
    bad = root / "bad.jsonl"
    text = labels.read_text().splitlines()
    row = json.loads(text[4])
    row["label"] = "approved"
    bad.write_text("\n".join([*text[:4], json.dumps(row)]) + "\n")
    out = CliRunner().invoke(train_cli, ["--product", "claims", "--labels", str(bad),
                                         "--registry", str(root / "never")])
    assert out.exit_code == 1
    assert f"{bad} line 5: label: 'approved' is not one of valid, fraud, review" in out.output
    assert not (root / "never").exists()


def test_mlflow_records_the_label_set_and_the_comparison(
        mlflow_server: str,
        labelled: tuple[Registry, training.TrainingResult, list[ModelVersion]]) -> None:
    _, _, versions = labelled
    [tracked, _] = tracking.log_versions(mlflow_server, versions)
    run = httpx.get(f"{mlflow_server}/api/2.0/mlflow/runs/get",
                    params={"run_id": tracked.run_id}).json()["run"]
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    meta = versions[0].metadata
    assert params["params.labels_sha256"] == meta["labels"]["sha256"]
    held = meta["metrics"]["reviewed_holdout"]
    assert metrics["reviewed_holdout.new.agreement"] == pytest.approx(held["new"]["agreement"])
    assert metrics["reviewed_holdout.current.cost_per_claim"] == pytest.approx(
        held["current"]["cost_per_claim"])


def test_the_reviewed_weight_can_be_given_and_needs_labels(
        setup: tuple[Path, Path, Path],
        labelled: tuple[Registry, training.TrainingResult, list[ModelVersion]]) -> None:
    root, config, labels = setup
    _, run, _ = labelled
    heavy = training.train(config=config, labels=labels, reviewed_weight=50)
    assert heavy.data.reviewed is not None and heavy.data.reviewed.weight == 50
    assert heavy.models[0].onnx_bytes != run.models[0].onnx_bytes  # weight 5 by the config
    with pytest.raises(ValueError, match="weight must be > 0"):
        training.train(config=config, labels=labels, reviewed_weight=-1)
    alone = CliRunner().invoke(train_cli, ["--product", "claims", "--reviewed-weight", "50",
                                           "--registry", str(root / "never")])
    assert alone.exit_code == 2 and "give --labels too" in alone.output
    zero = CliRunner().invoke(train_cli, ["--product", "claims", "--labels", str(labels),
                                          "--reviewed-weight", "0"])
    assert zero.exit_code == 2 and "--reviewed-weight" in zero.output
    assert not (root / "never").exists()


class _Stages:
    """A registry's stages only: what current_version reads."""

    def __init__(self, stages: dict[str, str]) -> None:
        self.stages = stages

    def versions(self, name: str) -> list[str]:
        return sorted(self.stages, key=int)

    def stage_of(self, name: str, version: str) -> str:
        return self.stages[version]

    def in_stage(self, name: str, stage: str) -> list[str]:
        return [v for v, s in self.stages.items() if s == stage]


def test_the_yardstick_is_production_then_staging_then_the_newest_not_archived() -> None:
    """A version a rollout archived (say, one trained on swapped labels) is never what a
    new version is compared with."""
    from quoteflow.products.claims.reviewed import current_version

    assert current_version(_Stages({"1": "Production", "2": "Staging"}), "claims") == \
        ("1", "Production")
    assert current_version(_Stages({"1": "None", "2": "Staging", "3": "None"}), "claims") == \
        ("2", "Staging")
    assert current_version(_Stages({"1": "None", "2": "None", "3": "Archived"}), "claims") == \
        ("2", "newest")
    assert current_version(_Stages({"1": "Archived"}), "claims") is None
    assert current_version(_Stages({}), "claims") is None
