"""`quoteflow train --product claims --mlflow URI` against a real MLflow server, read back
through MLflow's REST API."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from quoteflow.cli import main
from quoteflow.registry import Registry
from quoteflow.training import tracking


def test_flatten_keeps_numbers_and_names_them_by_path() -> None:
    got = dict(tracking.flatten({"test": {"f1": 0.5, "ok": True, "name": "x",
                                          "confusion": [[1, 2]], "nan": float("nan")},
                                 "odd key!": 3}))
    assert got == {"test.f1": 0.5, "test.confusion.0.0": 1.0, "test.confusion.0.1": 2.0,
                   "odd key_": 3.0}


def test_an_unreachable_tracking_server_is_refused_before_training(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["train", "--product", "claims", "--registry",
                                       str(tmp_path), "--mlflow", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "MLflow server http://127.0.0.1:9 is not reachable" in result.output
    assert Registry(tmp_path).versions("claims") == []


@pytest.fixture(scope="module")
def trained(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    registry = tmp_path_factory.mktemp("claims-mlflow-registry")
    result = CliRunner().invoke(main, ["train", "--product", "claims", "--registry",
                                       str(registry), "--mlflow", mlflow_server])
    assert result.exit_code == 0, result.output
    print(result.output)
    return mlflow_server, registry


def test_each_version_is_a_run_with_its_params_metrics_and_artifacts(
        trained: tuple[str, Path]) -> None:
    uri, root = trained
    api = f"{uri}/api/2.0/mlflow"
    exp = httpx.get(f"{api}/experiments/get-by-name",
                    params={"experiment_name": "quoteflow-claims"}).json()["experiment"]
    runs = httpx.post(f"{api}/runs/search", json={"experiment_ids": [exp["experiment_id"]]}
                      ).json()["runs"]
    assert len(runs) == 2
    registry = Registry(root)
    for summary in runs:
        run = httpx.get(f"{api}/runs/get", params={"run_id": summary["info"]["run_id"]}
                        ).json()["run"]
        tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
        mv = registry.get("claims", tags["quoteflow.registry_version"])
        assert tags["quoteflow.onnx_sha256"] == mv.sha256
        params = {p["key"]: p["value"] for p in run["data"]["params"]}
        assert params["model_type"] == mv.metadata["model_type"]
        assert params["training_data_sha256"] == mv.metadata["training_data_sha256"]
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        test = mv.metadata["metrics"]["test"]
        assert metrics["test.fraud_recall"] == pytest.approx(test["fraud_recall"])
        assert metrics["test.per_class.fraud.f1"] == pytest.approx(
            test["per_class"]["fraud"]["f1"])
        assert metrics["comparison.bayes_optimal.expected_cost"] == pytest.approx(
            mv.metadata["metrics"]["comparison"]["bayes_optimal"]["expected_cost"])
        files = httpx.get(f"{api}/artifacts/list", params={
            "run_id": run["info"]["run_id"], "path": "model"}).json()["files"]
        kind = mv.metadata["model_type"]
        assert {f["path"] for f in files} == {
            f"model/{n}" for n in ("model.onnx", "metadata.json", "report.md",
                                   f"confusion_{kind}.png", f"calibration_{kind}.png")}
        onnx = httpx.get(f"{uri}/get-artifact", params={
            "path": "model/model.onnx", "run_uuid": run["info"]["run_id"]}).content
        assert hashlib.sha256(onnx).hexdigest() == mv.sha256


def test_each_version_is_an_mlflow_model_version_tagged_with_ours(
        trained: tuple[str, Path]) -> None:
    uri, root = trained
    found = httpx.get(f"{uri}/api/2.0/mlflow/model-versions/search",
                      params={"filter": "name='claims'"}).json()["model_versions"]
    registry = Registry(root)
    ours = {}
    for v in found:
        tags = {t["key"]: t["value"] for t in v["tags"]}
        assert v["status"] == "READY"
        ours[tags["quoteflow.registry_version"]] = tags["quoteflow.onnx_sha256"]
    assert ours == {n: registry.get("claims", n).sha256 for n in registry.versions("claims")}
    assert len(ours) == 2


def test_any_product_is_tracked_motor_included(mlflow_server: str, tmp_path: Path) -> None:
    # a version from before products were named in metadata: motor's, by its model name
    meta = {"feature_schema_version": "1", "feature_names": ["a"], "seed": 7,
            "training_data_sha256": "0" * 64, "reference_histograms": {},
            "library_versions": {}, "model_type": "poisson_glm",
            "metrics": {"poisson_deviance_test": 0.31, "split": {"test_rows": 5000}}}
    mv = Registry(tmp_path).register("motor", b"not really onnx", meta)
    (run,) = tracking.log_versions(mlflow_server, [mv])
    api = f"{mlflow_server}/api/2.0/mlflow"
    got = httpx.get(f"{api}/runs/get", params={"run_id": run.run_id}).json()["run"]
    metrics = {m["key"]: m["value"] for m in got["data"]["metrics"]}
    assert metrics == {"poisson_deviance_test": 0.31, "split.test_rows": 5000.0}
    exp = httpx.get(f"{api}/experiments/get", params={"experiment_id": run.experiment_id}
                    ).json()["experiment"]
    assert exp["name"] == "quoteflow-motor"
    (version,) = httpx.get(f"{api}/model-versions/search", params={
        "filter": "name='motor'"}).json()["model_versions"]
    assert {t["key"]: t["value"] for t in version["tags"]}["quoteflow.onnx_sha256"] == mv.sha256
