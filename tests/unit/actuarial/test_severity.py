"""Severity fits: recovery of known distributions, the choice rule, the real data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from quoteflow.actuarial import danish, severity

TRUTHS = {
    "lognormal": {"meanlog": 9.0, "sdlog": 1.1},
    "gamma": {"shape": 2.5, "scale": 4000.0},
    "weibull": {"shape": 1.6, "scale": 12_000.0},
}


@pytest.mark.parametrize("family", severity.FAMILIES)
def test_known_distribution_is_recovered_and_chosen(family: str) -> None:
    truth = TRUTHS[family]
    x = severity.frozen_distribution(family, truth).rvs(size=20_000, random_state=7)
    fits = severity.fit_all(x)
    chosen = severity.choose(fits)
    assert chosen.family == family
    for key, value in truth.items():
        assert chosen.params[key] == pytest.approx(value, rel=0.03), key
    assert chosen.mean == pytest.approx(severity.distribution_mean(family, truth), rel=0.03)
    assert chosen.ks_pvalue > 0.01


def test_fit_statistics_are_consistent() -> None:
    x = stats.lognorm(s=0.8, scale=5000).rvs(size=3000, random_state=1)
    for f in severity.fit_all(x):
        dist = f.frozen()
        assert f.loglik == pytest.approx(np.sum(dist.logpdf(x)))
        assert f.aic == pytest.approx(4 - 2 * f.loglik)
        assert f.ks_statistic == pytest.approx(stats.kstest(x, dist.cdf).statistic)
        assert f.mean == pytest.approx(dist.mean(), rel=1e-9)
    fits = severity.fit_all(x)
    assert severity.choose(fits) is min(fits, key=lambda f: f.aic)


def test_lognormal_mle_matches_scipy() -> None:
    x = stats.lognorm(s=0.8, scale=5000).rvs(size=3000, random_state=2)
    s, _, scale = stats.lognorm.fit(x, floc=0)
    fit = severity.fit_family(x, "lognormal")
    assert fit.params["sdlog"] == pytest.approx(s, rel=1e-4)
    assert fit.params["meanlog"] == pytest.approx(np.log(scale), rel=1e-5)


def test_bad_amounts_and_family() -> None:
    with pytest.raises(ValueError, match="positive"):
        severity.fit_family(np.array([1.0, -2.0, 3.0]), "gamma")
    with pytest.raises(ValueError, match="unknown severity family"):
        severity.fit_family(np.array([1.0, 2.0, 3.0]), "pareto")


@pytest.fixture(scope="module")
def danish_fits() -> list[severity.SeverityFit]:
    """The loss-model study set: truncated at its 1M DKK reporting threshold, spliced."""
    x = danish.load()["amount"].to_numpy()
    return severity.fit_all(x, danish.REPORTING_THRESHOLD, severity.FAMILIES,
                            severity.SpliceOptions())


def test_real_danish_fires(danish_fits: list[severity.SeverityFit]) -> None:
    # plain, truncated at the 1M DKK reporting threshold, and spliced: 3 x 3 candidates
    fits = {f.slug: f for f in danish_fits}
    assert set(fits) == {f"{k}{f}" for k in ("", "truncated_", "spliced_")
                         for f in severity.FAMILIES}
    chosen = severity.choose(danish_fits)
    # the Pareto tail wins: lognormal body above 1M DKK + GPD above the splice threshold
    assert (chosen.family, chosen.kind) == ("lognormal", "spliced")
    assert all(f.n == 2167 for f in fits.values())
    assert fits["truncated_lognormal"].aic < fits["lognormal"].aic  # truncation matters
    assert 3e6 < chosen.mean < 4e6  # DKK (danishuni is in millions)
    tail = chosen.tail
    assert tail is not None
    assert 0.3 < tail.shape < 0.9 and 0 < tail.shape_se < 0.2  # heavy tail, as published
    png = severity.qq_plot_png(danish.load()["amount"].to_numpy(), chosen, True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
