"""Frequency models: the GLM against statsmodels, known-truth recovery, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from quoteflow.products.motor import features
from quoteflow.products.motor.training import frequency, loaders, pipeline, synthetic


def test_glm_agrees_with_statsmodels_on_every_coefficient(
        real_run: pipeline.TrainingResult) -> None:
    d = real_run.data
    tr = d.split.train
    glm = next(m.model for m in real_run.models if m.model_type == "poisson_glm")
    exog = sm.add_constant(d.x[tr].astype(np.float64), has_constant="add")
    ref = sm.GLM(d.policies["ClaimNb"].to_numpy()[tr], exog, family=sm.families.Poisson(),
                 offset=np.log(d.policies["Exposure"].to_numpy()[tr])).fit(tol=1e-12)
    assert len(glm.coef_) == features.N_FEATURES
    assert abs(glm.intercept_ - ref.params[0]) <= 1e-4
    np.testing.assert_allclose(glm.coef_, ref.params[1:], rtol=0, atol=1e-4)


def test_glm_recovers_known_coefficients() -> None:
    truth = synthetic.Truth()
    frame = synthetic.policies(300_000, seed=11, truth=truth)
    x = loaders.design(frame)
    claims, exposure = frame["ClaimNb"].to_numpy(), frame["Exposure"].to_numpy()
    glm = frequency.fit("poisson_glm", x, claims, exposure, seed=0)
    # z-scores against the Fisher information at the truth: |z| < 4.5 for all 21 terms
    design = np.column_stack([np.ones(len(x)), x.astype(np.float64)])
    mu = truth.frequency(x) * exposure
    cov = np.linalg.inv(design.T @ (design * mu[:, None]))
    se = np.sqrt(np.diag(cov))
    est = np.concatenate([[glm.intercept_], glm.coef_])
    true = np.concatenate([[truth.intercept], truth.beta])
    z = (est - true) / se
    assert np.max(np.abs(z)) < 4.5, dict(zip(("intercept", *features.FEATURE_NAMES), z,
                                            strict=True))
    # and the fitted frequencies track the true ones closely
    rel = frequency.predict(glm, x) / truth.frequency(x) - 1
    assert np.percentile(np.abs(rel), 95) < 0.1


def test_gbm_recovers_the_true_frequency_better_than_a_constant() -> None:
    truth = synthetic.Truth()
    frame = synthetic.policies(60_000, seed=12, truth=truth)
    x = loaders.design(frame)
    claims, exposure = frame["ClaimNb"].to_numpy(), frame["Exposure"].to_numpy()
    sp = frequency.split(len(frame), seed=5)
    gbm = frequency.fit("hist_gradient_boosting", x[sp.train], claims[sp.train],
                        exposure[sp.train], seed=5)
    test = sp.test
    dev_gbm = frequency.deviance(frequency.predict(gbm, x[test]), claims[test], exposure[test])
    dev_true = frequency.deviance(truth.frequency(x[test]), claims[test], exposure[test])
    const = claims[sp.train].sum() / exposure[sp.train].sum()
    dev_null = frequency.deviance(np.full(len(test), const), claims[test], exposure[test])
    assert dev_true < dev_gbm < dev_null


def test_split_is_fixed_by_the_seed() -> None:
    a, b, c = frequency.split(1000, 1), frequency.split(1000, 1), frequency.split(1000, 2)
    np.testing.assert_array_equal(a.test, b.test)
    assert not np.array_equal(a.test, c.test)
    assert len(a.test) == 200 and len(np.intersect1d(a.train, a.test)) == 0


def test_out_of_sample_deviances_on_real_data(real_run: pipeline.TrainingResult) -> None:
    by_model = {m.model_type: m.metrics for m in real_run.models}
    assert set(by_model) == {"poisson_glm", "hist_gradient_boosting"}
    for m in by_model.values():
        assert m["split"] == {"seed": pipeline.DEFAULT_SEED, "test_fraction": 0.2,
                              "train_rows": 20_000, "test_rows": 5_000}
        # both models beat the constant-frequency model out of sample
        assert m["poisson_deviance_test"] < m["poisson_deviance_test_null"]


def test_unknown_model_type() -> None:
    with pytest.raises(ValueError, match="unknown model type"):
        frequency.fit("forest", np.zeros((2, 20)), np.zeros(2), np.ones(2), 0)  # type: ignore[arg-type]
