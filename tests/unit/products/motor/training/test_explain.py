"""Why this price: each rating factor's effect, on the real models (issue 26, item 3)."""

from __future__ import annotations

import numpy as np
import pytest

from quoteflow.products.motor import explain, features, onnx_graph, shaping
from quoteflow.products.motor.training import pipeline
from quoteflow.registry import ModelVersion


def _outputs(real_run: pipeline.TrainingResult, model_type: str) -> dict[str, np.ndarray]:
    tm = next(m for m in real_run.models if m.model_type == model_type)
    return onnx_graph.run(tm.onnx_bytes, real_run.data.x)


@pytest.mark.parametrize("model_type", ["poisson_glm", "hist_gradient_boosting"])
def test_effects_multiply_back_to_the_frequency(real_run: pipeline.TrainingResult,
                                                model_type: str) -> None:
    out = _outputs(real_run, model_type)
    product = out["base_frequency"] * np.prod(out["factor_effects"], axis=1)
    # the sequential ratios telescope: exact to rounding for both models (the stated
    # tolerance is 1e-9 relative; 25,000 real policies)
    np.testing.assert_allclose(product, out["frequency"], rtol=1e-9, atol=0)
    # the base is the reference risk's own frequency, the same on every row
    ref = onnx_graph.run(next(m for m in real_run.models if m.model_type == model_type)
                         .onnx_bytes, explain.reference_row())
    np.testing.assert_allclose(out["base_frequency"], ref["frequency"][0], rtol=1e-12)
    # the reference risk itself has no factor away from the base
    np.testing.assert_allclose(ref["factor_effects"], 1.0, rtol=1e-12)


def test_glm_effects_are_its_exact_relativities(real_run: pipeline.TrainingResult) -> None:
    tm = next(m for m in real_run.models if m.model_type == "poisson_glm")
    out = _outputs(real_run, "poisson_glm")
    x = real_run.data.x.astype(np.float64)
    ref = explain.reference_row().astype(np.float64)[0]
    index = {n: i for i, n in enumerate(features.FEATURE_NAMES)}
    for k, (name, cols) in enumerate(explain.RATING_FACTORS):
        c = [index[col] for col in cols]
        relativity = np.exp((x[:, c] - ref[c]) @ tm.model.coef_[c])
        np.testing.assert_allclose(out["factor_effects"][:, k], relativity, rtol=1e-9,
                                   err_msg=name)
    # and the GLM's frequency is scikit-learn's, in float64
    np.testing.assert_allclose(out["frequency"], tm.model.predict(x), rtol=1e-12)


def test_effects_say_what_moves_the_price(real_run: pipeline.TrainingResult) -> None:
    out = _outputs(real_run, "poisson_glm")
    bm = real_run.data.policies["BonusMalus"].to_numpy()
    k = explain.FACTOR_NAMES.index("bonus_malus")
    # bonus-malus 50 is the reference: no effect; a malus raises the frequency
    np.testing.assert_allclose(out["factor_effects"][bm == 50, k], 1.0, rtol=1e-12)
    assert np.all(out["factor_effects"][bm > 100, k] > 1.0)


def test_breakdown_names_each_factor(real_versions: list[ModelVersion],
                                     real_run: pipeline.TrainingResult) -> None:
    mv = real_versions[0]
    out = onnx_graph.run((mv.path / "model.onnx").read_bytes(), real_run.data.x[:2])
    [row, _] = shaping.predictions(out, mv.metadata)
    b = row["breakdown"]
    assert list(b["rating_factors"]) == list(explain.FACTOR_NAMES)
    assert b["base_frequency"] * np.prod(list(b["rating_factors"].values())) == \
        pytest.approx(b["expected_frequency"], rel=1e-12)
    assert mv.metadata["explanation"]["reference"] == explain.REFERENCE
    cols = shaping.columns(out, mv.metadata)
    assert {f"effect_{n}" for n in explain.FACTOR_NAMES} <= set(cols)


@pytest.mark.parametrize("model_type", ["poisson_glm", "hist_gradient_boosting"])
def test_the_artifact_without_its_explanation_prices_the_same(
        real_run: pipeline.TrainingResult, model_type: str) -> None:
    """What the bench compares to measure the explanation's cost."""
    tm = next(m for m in real_run.models if m.model_type == model_type)
    plain = onnx_graph.without_explanation(tm.onnx_bytes)
    import onnxruntime as ort

    sess = ort.InferenceSession(plain, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    assert "factor_effects" not in names and "base_frequency" not in names
    x = real_run.data.x[:500]
    got = dict(zip(names, sess.run(None, {"features": x}), strict=True))
    full = onnx_graph.run(tm.onnx_bytes, x)
    for name, v in got.items():
        np.testing.assert_array_equal(v.reshape(-1), full[name], err_msg=name)
    assert len(plain) < len(tm.onnx_bytes)
