"""ClaimsProduct in process: shape, compare, warm-up check, judge and batch columns."""

from __future__ import annotations

import datetime as dt
import inspect

import numpy as np
import pyarrow as pa
import pytest

from quoteflow.batch.judged import judge
from quoteflow.products.base import Product
from quoteflow.products.claims import PRODUCT, generator, model_io
from quoteflow.products.claims.contract import CLAIM_EXAMPLE, ClaimRequest, TriagePrediction
from quoteflow.registry import ModelVersion

TODAY = dt.date(2026, 11, 30)


def test_the_product_implements_the_whole_interface() -> None:
    abstract = {n for n, f in inspect.getmembers(Product) if getattr(f, "__isabstractmethod__",
                                                                     False)}
    assert abstract and not (abstract & set(type(PRODUCT).__abstractmethods__))
    assert (PRODUCT.name, PRODUCT.public_path, PRODUCT.sticky_field) == (
        "claims", "/v1/claims/triage", "claim_reference")
    assert PRODUCT.answer_id_field is None
    assert PRODUCT.shadow_measures == ("agreement", "probability_shift")
    assert PRODUCT.model_io.input.width == len(PRODUCT.feature_names)
    assert [(o.name, o.dtype, o.width) for o in PRODUCT.model_io.outputs] == [
        ("probabilities", "float32", 3), ("decision", "int64", None)]


def _triage(mv: ModelVersion, bodies: list[dict]) -> tuple[np.ndarray, list[dict]]:
    cols = PRODUCT.columns([ClaimRequest.model_validate(b) for b in bodies], TODAY)
    assert PRODUCT.errors(cols, TODAY) == []
    x = PRODUCT.features(cols)
    return x, PRODUCT.shape(model_io.run(mv.read_verified(), x), x, mv.metadata)


def test_shape_answers_a_decision_probabilities_and_reasons_in_words(
        claims_versions: list[ModelVersion]) -> None:
    for mv in claims_versions:
        _, (row,) = _triage(mv, [CLAIM_EXAMPLE])
        TriagePrediction.model_validate(row)
        # 13 days into cover, 14,500 of 15,000 claimed, stock phrases, no police report
        assert row["decision"] == "fraud", mv.metadata["model_type"]
        assert abs(sum(row["probabilities"].values()) - 1) < 1e-5
        assert 1 <= len(row["reasons"]) <= 3
        assert "The incident happened 13 days after cover started." in row["reasons"]
        assert all(r.endswith(".") and len(r) < 140 for r in row["reasons"])


def test_reasons_follow_the_decision(claims_versions: list[ModelVersion]) -> None:
    incomplete = {**CLAIM_EXAMPLE, "line": "health", "claimed_amount": 800,
                  "sum_insured": 20000, "policy_start_date": "2019-01-01",
                  "report_date": "2026-11-03", "prior_claims_3y": 0,
                  "documents_attached": 0, "police_or_medical_report": False,
                  "incident_description": "I slipped on the stairs and broke my wrist."}
    valid = {**incomplete, "documents_attached": 2, "police_or_medical_report": True}
    for mv in claims_versions:
        _, (review, ok) = _triage(mv, [incomplete, valid])
        assert review["decision"] == "review"
        assert "2 of the 2 documents a health claim needs are missing." in review["reasons"]
        assert ok["decision"] == "valid"
        assert not any("missing" in r for r in ok["reasons"])


def test_compare_measures_agreement_and_probability_shift() -> None:
    a = {"decision": "valid", "probabilities": {"valid": 0.8, "fraud": 0.15, "review": 0.05}}
    b = {"decision": "fraud", "probabilities": {"valid": 0.4, "fraud": 0.5, "review": 0.1}}
    assert PRODUCT.compare(a, a) == {"agreement": 1.0, "probability_shift": 0.0}
    got = PRODUCT.compare(a, b)
    assert got["agreement"] == 0.0 and got["probability_shift"] == pytest.approx(0.4)


def test_warm_up_check() -> None:
    good = {"probabilities": np.array([[0.7, 0.2, 0.1]], np.float32),
            "decision": np.array([0])}
    assert PRODUCT.check_warm_up(good) is None
    assert "outside [0, 1]" in PRODUCT.check_warm_up(
        {**good, "probabilities": np.array([[np.nan, 0.5, 0.5]], np.float32)})
    assert "sum to 1" in PRODUCT.check_warm_up(
        {**good, "probabilities": np.array([[0.7, 0.7, 0.1]], np.float32)})
    assert "decisions outside" in PRODUCT.check_warm_up({**good, "decision": np.array([3])})


def test_context_names_the_claim() -> None:
    ctx = PRODUCT.context(ClaimRequest.model_validate(CLAIM_EXAMPLE), TODAY)
    assert ctx == {"claim_reference": "CLM-2026-000123", "line": "motor",
                   "report_date": "2026-11-20"}


def _as_csv_text(value: object) -> str | None:
    if value is None:
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def test_judge_rejects_with_the_live_messages_and_batch_matches_live(
        claims_versions: list[ModelVersion]) -> None:
    bodies = generator.generate(6, seed=3).requests(range(6))
    bodies[3]["report_date"] = "2020-01-01"  # a business rule
    del bodies[4]["report_date"]  # absent: the default date
    names = list(ClaimRequest.model_fields)
    # a typed file's bad row lacks a value; a CSV's has text where a number belongs
    for csv, bad, msg in ((False, None, "Field required"),
                          (True, "old", "Input should be a valid integer")):
        cols = {n: [b.get(n) for b in bodies] for n in names}
        cols["claimant_age"][1] = bad
        if csv:
            cols = {n: [_as_csv_text(v) for v in vs] for n, vs in cols.items()}
        table = pa.RecordBatch.from_pydict({"row_id": list(range(6)), **cols})
        judged = judge(PRODUCT, table, csv, TODAY, TODAY)
        assert judged.ok.tolist() == [0, 2, 4, 5]
        (r1, b1, e1), (r3, _, e3) = judged.rejected
        assert (r1, e1[0]["loc"], e1[0]["msg"]) == (1, ["body", "claimant_age"], msg)
        assert b1.get("claimant_age") == bad and "row_id" not in b1
        assert (r3, e3[0]["loc"]) == (3, ["body", "report_date"])
        assert e3[0]["msg"].startswith("is before the incident date")
        assert judged.columns.report_date[2] == np.datetime64(TODAY)
    mv = claims_versions[1]
    x = PRODUCT.features(judged.columns)
    out = model_io.run(mv.read_verified(), x)
    scored = PRODUCT.batch_columns(judged.columns, out, x, mv.metadata)
    _, live = _triage(mv, [bodies[i] | ({"report_date": str(TODAY)} if i == 4 else {})
                           for i in judged.ok])
    assert scored["decision"].tolist() == [r["decision"] for r in live]
    assert np.allclose(scored["probability_fraud"], [r["probabilities"]["fraud"] for r in live])
    assert scored["reasons"].tolist() == [" | ".join(r["reasons"]) for r in live]
    assert scored[PRODUCT.headline_column].dtype == np.float64


def test_the_serving_core_imports_no_web_framework_nor_training_libraries() -> None:
    import subprocess
    import sys

    code = ("import sys; from quoteflow.products.claims import PRODUCT; "
            "print(sorted(m for m in ('fastapi', 'starlette', 'sklearn', 'skl2onnx', 'onnx', "
            "'matplotlib', 'pyarrow', 'mlflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
