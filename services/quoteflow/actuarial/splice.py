"""The splice threshold: mean-excess and shape-stability over candidate thresholds.

Above a threshold u where the generalized Pareto tail holds, the mean excess
e(v) = E[X - v | X > v] is linear in v (slope xi / (1 - xi)) and the fitted shape xi
stays the same for every higher threshold, up to noise. ``THRESHOLD_RULE`` turns the
stability plot into a choice an actuary can check by eye on the two plots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quoteflow.actuarial.severity_fit import TailFit, fit_gpd
from quoteflow.report_format import png_bytes

THRESHOLD_RULE = ("the lowest candidate threshold u whose GPD shape estimate's 95% interval "
                  "(xi +- 1.96 SE) contains the shape estimate at every higher candidate; "
                  "candidates: empirical quantiles of the claims, each with at least "
                  "min_exceedances claims above it")


@dataclass(frozen=True)
class Candidate:
    threshold: float
    tail: TailFit
    mean_excess: float


@dataclass(frozen=True)
class ThresholdChoice:
    candidates: list[Candidate]
    chosen: Candidate
    rule: str = THRESHOLD_RULE


def candidate_thresholds(x: np.ndarray, quantiles: tuple[float, float], count: int,
                         min_exceedances: int) -> np.ndarray:
    levels = np.linspace(quantiles[0], quantiles[1], count)
    us = np.unique(np.quantile(x, levels))
    kept = np.array([u for u in us if np.sum(x > u) >= min_exceedances])
    if len(kept) < 2:
        raise ValueError(f"fewer than two candidate splice thresholds with at least "
                         f"{min_exceedances} claims above them ({len(x)} claims); lower "
                         "min_exceedances or turn the splice off")
    return kept


def choose_threshold(x: np.ndarray, quantiles: tuple[float, float] = (0.5, 0.95),
                     count: int = 19, min_exceedances: int = 100) -> ThresholdChoice:
    """THRESHOLD_RULE over the candidates; the highest one if none is stable."""
    x = np.asarray(x, dtype=np.float64)
    cands = []
    for u in candidate_thresholds(x, quantiles, count, min_exceedances):
        y = x[x > u] - u
        cands.append(Candidate(float(u), fit_gpd(y), float(y.mean())))
    chosen = cands[-1]
    for i, c in enumerate(cands):
        half = 1.96 * c.tail.shape_se
        if all(abs(h.tail.shape - c.tail.shape) <= half for h in cands[i + 1:]):
            chosen = c
            break
    return ThresholdChoice(cands, chosen)


def mean_excess_png(x: np.ndarray, choice: ThresholdChoice, currency: str) -> bytes:
    """Empirical mean excess e(v) at every claim amount but the top 10, the choice marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    v = np.sort(np.asarray(x, dtype=np.float64))[:-10]
    tail_sums = np.cumsum(np.sort(x)[::-1])[::-1]  # sum of x_(i..n)
    n = len(x)
    idx = np.arange(len(v))
    e = tail_sums[idx + 1] / (n - idx - 1) - v  # mean of the claims above x_(i)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.plot(v, e, ".", ms=3, alpha=0.6, label="mean excess")
    ax.axvline(choice.chosen.threshold, color="C3", lw=1,
               label=f"chosen u = {choice.chosen.threshold:,.0f}")
    ax.set_xscale("log")
    ax.set_xlabel(f"threshold v ({currency})")
    ax.set_ylabel(f"E[X - v | X > v] ({currency})")
    ax.set_title("Mean-excess plot (linear and rising above u: a Pareto-type tail)",
                 fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return png_bytes(fig)


def stability_png(choice: ThresholdChoice, currency: str) -> bytes:
    """GPD shape with its 95% interval at each candidate threshold."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    us = np.array([c.threshold for c in choice.candidates])
    xi = np.array([c.tail.shape for c in choice.candidates])
    se = np.array([c.tail.shape_se for c in choice.candidates])
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.errorbar(us, xi, yerr=1.96 * se, fmt="o", ms=4, capsize=3, label="GPD shape, 95% CI")
    ax.axvline(choice.chosen.threshold, color="C3", lw=1,
               label=f"chosen u = {choice.chosen.threshold:,.0f}")
    ax.set_xscale("log")
    ax.set_xlabel(f"candidate threshold u ({currency})")
    ax.set_ylabel("shape xi")
    ax.set_title("Shape stability over candidate thresholds", fontsize=10)
    ax.legend(loc="best")
    fig.tight_layout()
    return png_bytes(fig)
