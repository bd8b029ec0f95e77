"""Truncated and spliced severity: known parameters recovered, metadata round trip, posterior."""

from __future__ import annotations

import numpy as np
import pytest

from quoteflow.actuarial import severity, severity_fit, splice, uncertainty
from quoteflow.actuarial.severity_dist import SeverityModel, Splice, from_metadata

T = 1_000_000.0
TRUE_BODY = {"meanlog": 13.5, "sdlog": 1.0}
TRUE_SPLICE = Splice(5_000_000.0, 0.12, 0.5, 4_000_000.0)


def _truncated_sample(n: int, seed: int) -> np.ndarray:
    """Ground-up lognormal losses, of which only those >= T are reported."""
    rng = np.random.default_rng(seed)
    x = np.exp(rng.normal(TRUE_BODY["meanlog"], TRUE_BODY["sdlog"], size=n * 4))
    kept = x[x >= T]
    assert len(kept) >= n
    return kept[:n]


def test_truncated_fit_recovers_the_ground_up_parameters() -> None:
    x = _truncated_sample(6000, seed=1)
    fit = severity.fit_family(x, "lognormal", T)
    plain = severity.fit_family(x, "lognormal")
    assert fit.params["meanlog"] == pytest.approx(13.5, abs=0.15)
    assert fit.params["sdlog"] == pytest.approx(1.0, rel=0.06)
    assert plain.params["sdlog"] < 0.85  # ignoring the threshold shrinks the spread
    assert fit.aic < plain.aic
    assert fit.mean == pytest.approx(x.mean(), rel=0.05)  # mean of a reported claim


def _spliced_sample(n: int, seed: int) -> tuple[SeverityModel, np.ndarray]:
    model = SeverityModel("lognormal", TRUE_BODY, T, TRUE_SPLICE)
    return model, model.rvs(n, np.random.default_rng(seed))


def test_spliced_fit_recovers_body_and_tail_with_standard_errors() -> None:
    _model, x = _spliced_sample(8000, seed=2)
    assert x.min() >= T
    u = TRUE_SPLICE.threshold
    y = x[x > u] - u
    choice = splice.ThresholdChoice([], splice.Candidate(u, severity_fit.fit_gpd(y), y.mean()))
    fit = severity.fit_spliced(x, "lognormal", T, choice)
    tail = fit.tail
    assert abs(tail.shape - 0.5) < 3 * tail.shape_se
    assert abs(tail.scale - 4e6) < 3 * tail.scale_se
    assert float(fit.model.splice.tail_probability) == pytest.approx(0.12, abs=0.012)
    assert fit.params["meanlog"] == pytest.approx(13.5, abs=0.35)
    assert fit.params["sdlog"] == pytest.approx(1.0, rel=0.15)
    # the spliced truth beats every unspliced candidate on AIC
    fits = severity.fit_all(x, T)
    assert fit.aic < min(f.aic for f in fits)


def test_threshold_rule_on_spliced_data_lands_near_the_true_splice() -> None:
    _, x = _spliced_sample(8000, seed=3)
    choice = splice.choose_threshold(x, (0.5, 0.95), 19, 100)
    assert 2.5e6 < choice.chosen.threshold < 1.2e7
    assert abs(choice.chosen.tail.shape - 0.5) < 3 * choice.chosen.tail.shape_se


def test_model_round_trips_through_metadata_and_is_consistent() -> None:
    model, x = _spliced_sample(200_000, seed=4)
    again = from_metadata(model.as_metadata())
    assert again.as_metadata() == model.as_metadata()
    q = np.array([0.01, 0.5, 0.87, 0.9, 0.99, 0.995])
    np.testing.assert_allclose(again.cdf(again.ppf(q)), q, rtol=1e-9)
    np.testing.assert_allclose(np.quantile(x, q), model.ppf(q), rtol=0.04)
    assert float(model.mean()) == pytest.approx(x.mean(), rel=0.03)
    with pytest.raises(ValueError, match="severity model"):
        from_metadata({"family": "lognormal", "params": {"meanlog": 1.0}})


def test_claims_below_the_threshold_are_refused() -> None:
    with pytest.raises(ValueError, match="below the reporting threshold"):
        severity.fit_family(np.array([2e6, 3e6, 5e5]), "lognormal", T)


def test_abc_posterior_agrees_with_the_likelihood_posterior() -> None:
    """ABC's mean and sd of every parameter against importance-sampled likelihood ones.

    Monte Carlo error of ABC's mean with 500 accepted draws is sd/sqrt(500) ~ 0.045 sd,
    the importance sampler's sd/sqrt(ESS); the bound allows that plus ABC's own
    approximation (a tolerance, summaries that are only nearly sufficient).
    """
    _model, x = _spliced_sample(3000, seed=5)
    u = TRUE_SPLICE.threshold
    y = x[x > u] - u
    choice = splice.ThresholdChoice([], splice.Candidate(u, severity_fit.fit_gpd(y), y.mean()))
    fit = severity.fit_spliced(x, "lognormal", T, choice)
    post = uncertainty.abc(x, fit.model, seed=6)
    assert len(post.abc_draws) == 500 and post.samples == 10_000
    lik_mean, lik_sd = post.lik_mean_sd()
    abc_mean, abc_sd = post.abc_draws.mean(axis=0), post.abc_draws.std(axis=0)
    mc = np.sqrt(lik_sd ** 2 / 500 + lik_sd ** 2 / post.lik_ess)
    assert post.lik_ess > 300
    for i, name in enumerate(post.names):
        assert abs(abc_mean[i] - lik_mean[i]) < 4 * mc[i] + 0.25 * lik_sd[i], name
        assert 0.7 < abc_sd[i] / lik_sd[i] < 1.4, name
    ci = post.intervals()
    for method in ("abc", "likelihood"):
        lo, mid, hi = ci[method]["mean"]
        assert lo < float(fit.mean) < hi and lo < mid < hi
    meta = post.as_metadata()
    assert len(meta["draws"]["tail_shape"]) == 500
