"""Aggregate annual loss by Monte Carlo, vectorised over years.

A book's claim count in a year is a sum of independent Poisson counts, so it is
Poisson with the summed frequency: one draw per year instead of one per policy. The
claims of a block of years are drawn at once from the severity model and summed per
year with ``np.bincount``. With parameter uncertainty each simulated year first draws
one parameter set from the stored posterior (the ABC draws in the artifact), so the
spread includes what the data cannot pin down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from quoteflow.actuarial.severity_dist import PARAM_NAMES, SeverityModel, Splice, from_metadata

CLAIMS_PER_BLOCK = 2_000_000  # claims drawn per step: bounds memory (~50 MB)
LEVELS = (0.99, 0.995)


@dataclass
class RiskSummary:
    mean: float
    std: float
    var: dict[float, float]
    tvar: dict[float, float]
    years: int


def risk_summary(losses: np.ndarray) -> RiskSummary:
    """Mean, std, VaR (empirical quantile) and TVaR (mean of losses at or above VaR)."""
    var = {q: float(np.quantile(losses, q)) for q in LEVELS}
    tvar = {q: float(losses[losses >= v].mean()) for q, v in var.items()}
    return RiskSummary(float(losses.mean()), float(losses.std(ddof=1)), var, tvar, len(losses))


def posterior_models(meta: dict[str, Any]) -> SeverityModel:
    """The severity model with array parameters: one entry per stored posterior draw."""
    base = from_metadata(meta)
    try:
        draws = {k: np.asarray(v, dtype=np.float64) for k, v in
                 meta["uncertainty"]["draws"].items()}
    except KeyError as e:
        raise ValueError("this model's metadata holds no severity posterior "
                         "(trained with uncertainty off): drop --parameter-uncertainty") from e
    params = {k: draws[k] for k in PARAM_NAMES[base.family]}
    splice = None
    if base.splice:
        splice = Splice(base.splice.threshold, draws["tail_probability"], draws["tail_shape"],
                        draws["tail_scale"])
    return SeverityModel(base.family, params, base.truncation, splice, base.atoms)


def _pick(model: SeverityModel, idx: np.ndarray) -> SeverityModel:
    params = {k: np.asarray(v)[idx] for k, v in model.params.items()}
    sp = model.splice
    splice = Splice(sp.threshold, np.asarray(sp.tail_probability)[idx],
                    np.asarray(sp.shape)[idx], np.asarray(sp.scale)[idx]) if sp else None
    return SeverityModel(model.family, params, model.truncation, splice, model.atoms)


def annual_losses(total_frequency: float, severity: SeverityModel, years: int, seed: int,
                  posterior: SeverityModel | None = None,
                  progress: Callable[[int], object] | None = None) -> np.ndarray:
    """``years`` simulated aggregate annual losses of a book with this summed frequency."""
    if years < 1:
        raise ValueError("years must be at least 1")
    rng = np.random.default_rng(seed)
    counts = rng.poisson(total_frequency, size=years)
    n_draws = len(np.asarray(next(iter(posterior.params.values())))) if posterior else 0
    draw_of_year = rng.integers(0, n_draws, size=years) if posterior else None
    out = np.zeros(years)
    start = 0
    while start < years:
        # as many whole years as fit in a block (at least one)
        cum = np.cumsum(counts[start:])
        stop = start + max(1, int(np.searchsorted(cum, CLAIMS_PER_BLOCK, side="right")))
        n = counts[start:stop]
        year_of_claim = np.repeat(np.arange(stop - start), n)
        if posterior is not None and draw_of_year is not None:
            model = _pick(posterior, draw_of_year[start:stop][year_of_claim])
            amounts = model.rvs(len(year_of_claim), rng)
        else:
            amounts = severity.rvs(len(year_of_claim), rng)
        out[start:stop] = np.bincount(year_of_claim, weights=amounts, minlength=stop - start)
        if progress:
            progress(stop - start)
        start = stop
    return out


def single_claims(severity: SeverityModel, n: int, seed: int) -> np.ndarray:
    return np.asarray(severity.rvs(n, np.random.default_rng(seed)))
