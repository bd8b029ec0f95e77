"""The whole pipeline: metadata, report, determinism, user files, staging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from quoteflow.products.motor import features
from quoteflow.products.motor.training import pipeline, synthetic
from quoteflow.registry import ModelVersion, Registry
from quoteflow.registry.store import REQUIRED_METADATA


def test_two_versions_glm_first_with_complete_metadata(real_versions: list[ModelVersion]
                                                       ) -> None:
    glm, gbm = real_versions
    assert (glm.version, gbm.version) == ("1", "2")
    assert glm.metadata["model_type"] == "poisson_glm"
    assert gbm.metadata["model_type"] == "hist_gradient_boosting"
    for mv in real_versions:
        meta = json.loads((mv.path / "metadata.json").read_text())
        assert set(REQUIRED_METADATA) <= set(meta)
        assert meta["feature_schema_version"] == features.FEATURE_SCHEMA_VERSION
        assert meta["feature_names"] == list(features.FEATURE_NAMES)
        assert len(meta["training_data_sha256"]) == 64
        assert set(meta["pricing"]) >= {"currency", "expense_loading", "profit_loading",
                                        "minimum_premium", "formula"}
        assert meta["pricing"]["currency"] == "EUR" and meta["pricing"]["minor_unit"] == 2
        assert meta["severity"]["kind"] == "spliced" and meta["severity"]["mean"] > 0
        m = meta["metrics"]
        assert set(m["poisson_deviance_test_by_model"]) == {"poisson_glm",
                                                            "hist_gradient_boosting"}
        assert max(m["onnx_parity"]["max_relative_difference"].values()) <= 1e-5
        assert set(meta["library_versions"]) >= {"scikit-learn", "skl2onnx", "onnxruntime"}
        mv.read_verified()
    assert len(glm.metadata["glm"]["coefficients"]) == features.N_FEATURES
    assert glm.metadata["training_data_sha256"] == gbm.metadata["training_data_sha256"]


def test_the_tariff_is_a_french_motor_tariff_in_eur(real_versions: list[ModelVersion]
                                                   ) -> None:
    """Issue 24's bar: premiums a French motor customer would recognise, a severity that
    models the fixed amounts and the tail, its mean justified against the data's."""
    for mv in real_versions:
        sev = mv.metadata["severity"]
        # the six IRSA-IDA amounts as point masses, 43% of the claims
        assert sorted(sev["point_masses"]["amounts"]) == [602, 1128, 1128.12, 1172, 1204, 1320]
        assert sum(sev["point_masses"]["probabilities"]) == pytest.approx(0.4295, abs=1e-4)
        # the GPD tail with its shape's standard error
        tail = sev["splice"]
        assert tail["tail"] == "generalized Pareto" and 0 < tail["shape_se"] < tail["shape"]
        assert tail["threshold"] > max(sev["point_masses"]["amounts"])
        # the mean is within 5% of the data's, or the data are no evidence against it
        check = sev["mean_check"]
        assert check["empirical"] == pytest.approx(2265.5126, abs=1e-3)
        assert (abs(sev["mean"] / check["empirical"] - 1) <= 0.05
                or check["share_below"] >= 0.05), check
        # the premium's severity is attritional + large loss, and adds up to the mean
        parts = sev["premium_parts"]
        assert parts["attritional"] + parts["large_loss"] == pytest.approx(sev["mean"])
        assert parts["threshold"] == tail["threshold"] and parts["large_loss"] > 0
        dist = mv.metadata["metrics"]["premium_distribution"]
        assert dist["overall"]["policies"] == 25_000
        assert 150 <= dist["overall"]["median"] <= 1500
        assert set(dist["by_area"]) == set("ABCDE") and "50" in dist["by_bonus_malus"]


def test_reference_histograms_cover_the_training_rows(real_versions: list[ModelVersion],
                                                      real_run: pipeline.TrainingResult
                                                      ) -> None:
    hist = real_versions[0].metadata["reference_histograms"]
    edges = features.reference_edges()
    assert set(hist) == set(features.RAW_FEATURES)
    for name, h in hist.items():
        assert h["edges"] == edges[name]
        assert len(h["counts"]) == len(edges[name]) - 1
        assert sum(h["counts"]) == len(real_run.data.split.train)


def test_report_and_plots_beside_each_artifact(real_versions: list[ModelVersion]) -> None:
    for mv in real_versions:
        report = (mv.path / "report.md").read_text()
        assert f"# Training report: {mv.metadata['model_type']}" in report
        for family in ("lognormal", "gamma", "weibull"):
            assert f"]({'qq_' + family}.png)" in report  # relative link
            assert (mv.path / f"qq_{family}.png").read_bytes()[:4] == b"\x89PNG"
        assert "lowest AIC" in report and "Poisson deviance" in report
        assert mv.metadata["pricing"]["formula"] in report
        assert "outside the rating domain and not used: 0" in report


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("user")
    policies = synthetic.policies(12_000, seed=21)
    policies.loc[:2, "DrivAge"] = 17  # three rows outside the domain, one more brand
    policies.loc[3, "VehBrand"] = "B11"
    return {
        "policies": synthetic.write(policies, d / "policies.parquet"),
        "claims": synthetic.write(synthetic.claims(1500, seed=22, years=(2015, 2024)),
                                  d / "claims.csv"),
        "cpi": synthetic.write(synthetic.cpi_table((2016, 2024)), d / "cpi.csv"),
    }


def test_user_files_train_and_go_to_staging(user_files: dict[str, Path], tmp_path: Path) -> None:
    versions = pipeline.train_and_register(
        tmp_path, policies=user_files["policies"], claims=user_files["claims"],
        cpi=user_files["cpi"], base_year=2024, missing_index="nearest", seed=3,
        to_staging=True, actor="cronjob", name="motor-synthetic")
    reg = Registry(tmp_path)
    assert reg.stages("motor-synthetic") == {"1": "Staging", "2": "Staging"}
    assert {e["actor"] for e in reg.audit("motor-synthetic")} == {"cronjob"}
    meta = versions[0].metadata
    assert meta["training_data"]["policies_outside_domain"] == 4
    assert meta["training_data"]["outside_domain_by_reason"] == {"driver_age": 3, "brand": 1}
    assert meta["training_data"]["indexing"]["substituted_years"] == {"2015": 2016}
    report = (versions[0].path / "report.md").read_text()
    assert "| driver_age | 3 |" in report and "| brand | 1 |" in report
    assert "2015 -> 2016" in report
    # the true lognormal(9, 1.1) severity, inflated by the synthetic CPI: close to truth
    assert meta["severity"]["family"] == "lognormal"
    assert meta["severity"]["params"]["sdlog"] == pytest.approx(1.1, rel=0.06)


def test_user_files_missing_cpi_year_is_an_error_by_default(user_files: dict[str, Path],
                                                           tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"no index for accident year\(s\) 2015"):
        pipeline.train_and_register(tmp_path, policies=user_files["policies"],
                                    claims=user_files["claims"], cpi=user_files["cpi"],
                                    base_year=2024)
    assert Registry(tmp_path).names() == []  # nothing registered
