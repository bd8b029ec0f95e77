"""Claim-size distributions: lognormal, gamma and Weibull by maximum likelihood.

Each fit reports its log-likelihood, AIC and a Kolmogorov-Smirnov test. The KS
p-value uses parameters estimated from the same data, so it is optimistic (too
high); it ranks fits but is not an exact test. The choice rule is CHOICE_RULE.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

FAMILIES: tuple[str, ...] = ("lognormal", "gamma", "weibull")
CHOICE_RULE = ("lowest AIC (every family has two free parameters with the location fixed "
               "at 0, so this is also the highest log-likelihood)")


@dataclass(frozen=True)
class SeverityFit:
    family: str
    params: dict[str, float]
    loglik: float
    aic: float
    ks_statistic: float
    ks_pvalue: float
    mean: float
    n: int

    def frozen(self) -> Any:
        return frozen_distribution(self.family, self.params)

    def as_metadata(self) -> dict[str, Any]:
        return {"family": self.family, "params": self.params, "mean": self.mean,
                "loglik": self.loglik, "aic": self.aic, "ks_statistic": self.ks_statistic,
                "ks_pvalue": self.ks_pvalue, "n": self.n}


def frozen_distribution(family: str, params: dict[str, float]) -> Any:
    if family == "lognormal":
        return stats.lognorm(s=params["sdlog"], scale=math.exp(params["meanlog"]))
    if family == "gamma":
        return stats.gamma(a=params["shape"], scale=params["scale"])
    if family == "weibull":
        return stats.weibull_min(c=params["shape"], scale=params["scale"])
    raise ValueError(f"unknown severity family {family!r}; known: {', '.join(FAMILIES)}")


def distribution_mean(family: str, params: dict[str, float]) -> float:
    if family == "lognormal":
        return math.exp(params["meanlog"] + params["sdlog"] ** 2 / 2)
    if family == "gamma":
        return params["shape"] * params["scale"]
    if family == "weibull":
        return float(params["scale"] * special.gamma(1 + 1 / params["shape"]))
    raise ValueError(f"unknown severity family {family!r}")


def _mle(family: str, x: np.ndarray) -> dict[str, float]:
    # Fit on amounts divided by their geometric mean: the optimisers behave on O(1)
    # data, and every family here is a scale family, so rescaling back is exact.
    s = float(np.exp(np.mean(np.log(x))))
    z = x / s
    if family == "lognormal":
        logs = np.log(z)  # closed form MLE
        return {"meanlog": float(logs.mean() + math.log(s)), "sdlog": float(logs.std())}
    if family == "gamma":
        a, _, scale = stats.gamma.fit(z, floc=0)
        return {"shape": float(a), "scale": float(scale * s)}
    if family == "weibull":
        c, _, scale = stats.weibull_min.fit(z, floc=0)
        return {"shape": float(c), "scale": float(scale * s)}
    raise ValueError(f"unknown severity family {family!r}; known: {', '.join(FAMILIES)}")


def fit_family(amounts: np.ndarray, family: str) -> SeverityFit:
    x = np.asarray(amounts, dtype=np.float64)
    if len(x) < 2 or np.any(x <= 0):
        raise ValueError("severity needs at least two positive claim amounts")
    params = _mle(family, x)
    dist = frozen_distribution(family, params)
    loglik = float(np.sum(dist.logpdf(x)))
    ks = stats.kstest(x, dist.cdf)
    return SeverityFit(family, params, loglik, 2 * len(params) - 2 * loglik,
                       float(ks.statistic), float(ks.pvalue),
                       distribution_mean(family, params), len(x))


def fit_all(amounts: np.ndarray) -> list[SeverityFit]:
    return [fit_family(amounts, f) for f in FAMILIES]


def choose(fits: list[SeverityFit]) -> SeverityFit:
    """CHOICE_RULE; ties go to the earlier family in FAMILIES."""
    return min(fits, key=lambda f: f.aic)


def qq_plot_png(amounts: np.ndarray, fit: SeverityFit, chosen: bool) -> bytes:
    """Empirical against fitted quantiles, log-log (heavy tails stay readable)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    x = np.sort(np.asarray(amounts, dtype=np.float64))
    probs = (np.arange(1, len(x) + 1) - 0.5) / len(x)
    theo = fit.frozen().ppf(probs)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    ax.loglog(theo, x, ".", ms=3, alpha=0.6, label="claims")
    lo, hi = min(theo[0], x[0]), max(theo[-1], x[-1])
    ax.loglog([lo, hi], [lo, hi], "k--", lw=1, label="y = x")
    ax.set_xlabel(f"{fit.family} quantile")
    ax.set_ylabel("observed claim amount")
    mark = " (chosen)" if chosen else ""
    ax.set_title(f"Q-Q {fit.family}{mark}\nAIC {fit.aic:,.1f}, KS {fit.ks_statistic:.3f}",
                 fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    buf = io.BytesIO()
    # No timestamp or version in the PNG: the same fit gives the same bytes.
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
