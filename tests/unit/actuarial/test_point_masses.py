"""Severity with point masses: fixed settlement amounts beside a continuous body and tail."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from quoteflow.actuarial import severity
from quoteflow.actuarial.mean_check import mean_check
from quoteflow.actuarial.severity_dist import PointMasses, SeverityModel, Splice, from_metadata

MASSES = PointMasses((602.0, 1128.12, 1204.0), (0.05, 0.15, 0.2))
MODEL = SeverityModel("weibull", {"shape": 0.9, "scale": 1500.0}, 0.0,
                      Splice(4000.0, 0.1, 0.6, 3000.0), MASSES)


def test_sf_and_isf_are_each_others_inverse_across_the_point_masses() -> None:
    p = np.linspace(1e-4, 1 - 1e-4, 2001)
    x = MODEL.isf(p)
    assert np.all(np.diff(x) <= 1e-9)  # decreasing in p
    # the generalised inverse: sf(x) <= p < sf(x-) (x- a hair below x)
    assert np.all(MODEL.sf(x) <= p + 1e-9)
    assert np.all(MODEL.sf(x * (1 - 1e-9)) >= p - 1e-9)
    # every point mass is hit by the share of p its probability spans
    for a, w in zip(MASSES.amounts, MASSES.probabilities, strict=True):
        assert np.mean(x == a) == pytest.approx(w, abs=2e-3)


def test_draws_mean_and_shares_match_the_model() -> None:
    x = MODEL.rvs(400_000, np.random.default_rng(3))
    for a, w in zip(MASSES.amounts, MASSES.probabilities, strict=True):
        assert np.mean(x == a) == pytest.approx(w, abs=3e-3)
    # xi = 0.6: finite mean, slow convergence; 2% is ~4 standard errors of the sample mean
    assert np.mean(x) == pytest.approx(float(MODEL.mean()), rel=0.02)
    cont = MODEL.continuous()
    assert float(MODEL.mean()) == pytest.approx(
        602 * 0.05 + 1128.12 * 0.15 + 1204 * 0.2 + 0.6 * float(cont.mean()))


def test_large_loss_part_is_the_mean_above_the_splice_threshold() -> None:
    u = MODEL.splice.threshold  # type: ignore[union-attr]
    x = MODEL.rvs(400_000, np.random.default_rng(4))
    above = float(MODEL.mean_above(u))
    assert above == pytest.approx(np.mean(np.where(x > u, x, 0)), rel=0.05)
    plain = dataclasses.replace(MODEL, splice=None)
    with pytest.raises(ValueError, match="above the splice threshold"):
        plain.mean_above(u)


def test_metadata_round_trip_keeps_the_point_masses() -> None:
    again = from_metadata(MODEL.as_metadata())
    assert again.atoms == MASSES
    assert float(again.mean()) == pytest.approx(float(MODEL.mean()), rel=1e-12)


def test_point_masses_are_checked() -> None:
    with pytest.raises(ValueError, match="sum below 1"):
        PointMasses((1.0, 2.0), (0.6, 0.4))
    with pytest.raises(ValueError, match="distinct and positive"):
        PointMasses((1.0, 1.0), (0.1, 0.1))
    with pytest.raises(ValueError, match=r"point masses \[999\.0\]: no claim has that amount"):
        severity.point_masses(np.array([1.0, 2.0]), (999.0,))


def test_fits_with_point_masses_win_on_claims_that_have_them() -> None:
    x = MODEL.rvs(20_000, np.random.default_rng(5))
    fits = severity.fit_all(x, 0.0, severity.FAMILIES, severity.SpliceOptions(),
                            MASSES.amounts)
    chosen = severity.choose(fits)
    assert chosen.model.atoms is not None and chosen.kind == "spliced"
    assert chosen.slug.startswith("masses_spliced_")
    # the shares are the data's, and the continuous part sees only the other claims
    for a, w in zip(chosen.model.atoms.amounts, chosen.model.atoms.probabilities,
                    strict=True):
        assert w == np.mean(x == a)
    assert chosen.n_params == 5 + 3
    # every candidate's likelihood is of the amounts to the cent, so they compare
    plain = next(f for f in fits if f.slug == "weibull")
    assert plain.loglik == pytest.approx(float(np.sum(plain.model.logpdf(x)))
                                         + len(x) * np.log(0.01))
    assert chosen.tail is not None and chosen.tail.shape == pytest.approx(0.6, abs=0.15)
    check = mean_check(chosen.model, x, seed=1, samples=50)
    assert 0 < check.share_below < 1 and check.claims == len(x)
