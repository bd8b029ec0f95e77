"""Claim-size candidates (plain, left-truncated, spliced with a Pareto tail), compared by AIC.

- plain: lognormal, gamma and Weibull by maximum likelihood on (0, inf), as if the
  claims started at zero;
- truncated: the same families conditioned on X >= t, t the reporting threshold that
  comes with the data (a data-config value: 1,000,000 DKK for the Danish fire losses);
- spliced: a truncated body on [t, u] and a generalized Pareto tail above u, u chosen by
  ``splice.THRESHOLD_RULE``;
- with point masses: given fixed amounts (a claims convention's flat settlements), each
  carries the share of claims that sit on it (its MLE) and a plain or spliced model is
  fitted to the other claims.

With point masses in play, a density and a probability are not comparable, so every
candidate's likelihood is taken on amounts recorded to the cent (``RESOLUTION``): a
continuous model gives a claim probability f(x) x 0.01, a point mass p_j.

Every candidate's log-likelihood is of the same claims, so AIC compares them; the rule
is CHOICE_RULE. Each fit also reports a Kolmogorov-Smirnov test whose p-value uses
parameters estimated from the same data, so it is optimistic; it describes, it does not
choose. The chosen fit's mean (E[X | X >= t]: the size of a reported claim) is the
severity of the price.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from quoteflow.actuarial import severity_fit, splice
from quoteflow.actuarial.point_masses import PointMasses
from quoteflow.actuarial.severity_dist import (
    FAMILIES,
    SeverityModel,
    Splice,
    check_family,
    distribution_mean,
    frozen_distribution,
)
from quoteflow.report_format import png_bytes

__all__ = ["CHOICE_RULE", "FAMILIES", "SeverityFit", "SpliceOptions", "choose",
           "distribution_mean", "fit_all", "fit_family", "frozen_distribution",
           "qq_plot_png"]

CHOICE_RULE = ("lowest AIC = 2k - 2 log-likelihood, every candidate's log-likelihood taken "
               "on the same claims; k = 2 for plain and truncated fits (the truncation point "
               "comes with the data and is not fitted), 5 for spliced ones (body 2, tail "
               "probability, GPD shape and scale; the splice threshold is set by the "
               "threshold rule, not by the likelihood, and is not counted), plus 1 for each "
               "point mass (its probability); with point masses among the candidates every "
               "log-likelihood is of the amounts to the cent (a density times 0.01, a point "
               "mass its probability); ties go to the earlier candidate")
QUANTILES = (0.99, 0.995)
RESOLUTION = 0.01  # amounts are recorded to the cent


@dataclass(frozen=True)
class SpliceOptions:
    quantiles: tuple[float, float] = (0.5, 0.95)
    candidates: int = 19
    min_exceedances: int = 100


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
    model: SeverityModel
    n_params: int = 2
    at_bound: bool = False
    tail: severity_fit.TailFit | None = None
    threshold_choice: splice.ThresholdChoice | None = None

    @property
    def kind(self) -> str:
        return self.model.kind

    @property
    def label(self) -> str:
        text = {"plain": self.family, "truncated": f"truncated {self.family}",
                "spliced": f"{self.family} body + GPD tail"}[self.kind]
        return f"point masses + {text}" if self.model.atoms else text

    @property
    def slug(self) -> str:
        slug = self.family if self.kind == "plain" else f"{self.kind}_{self.family}"
        return f"masses_{slug}" if self.model.atoms else slug

    def frozen(self) -> SeverityModel:
        return self.model

    def quantile(self, q: float) -> float:
        return float(self.model.ppf(q))

    def as_metadata(self) -> dict[str, Any]:
        out = {**self.model.as_metadata(), "label": self.label, "mean": self.mean,
               "quantiles": {str(q): self.quantile(q) for q in QUANTILES},
               "loglik": self.loglik, "aic": self.aic, "n_params": self.n_params,
               "at_bound": self.at_bound, "ks_statistic": self.ks_statistic,
               "ks_on": "claims off the point masses" if self.model.atoms else "all claims",
               "ks_pvalue": self.ks_pvalue, "n": self.n}
        if self.tail is not None:
            out["splice"] = {**out["splice"], "shape_se": self.tail.shape_se,
                             "scale_se": self.tail.scale_se, "exceedances": self.tail.n,
                             "threshold_rule": splice.THRESHOLD_RULE}
        return out


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


def _check(amounts: np.ndarray, threshold: float) -> np.ndarray:
    x = np.asarray(amounts, dtype=np.float64)
    if len(x) < 2 or np.any(x <= 0):
        raise ValueError("severity needs at least two positive claim amounts")
    below = int(np.sum(x < threshold))
    if below:
        raise ValueError(f"{below} claim(s) below the reporting threshold {threshold:,.2f} "
                         f"(smallest {x.min():,.2f}): the threshold given with the data "
                         "does not match it")
    return x


def loglik(model: SeverityModel, x: np.ndarray, resolution: float | None = None) -> float:
    """Log-likelihood of claims x: densities, or with ``resolution`` the probability of
    each amount to that precision (f(x) x resolution; a point mass's own probability)."""
    if resolution is None:
        return float(np.sum(model.logpdf(x)))
    masses = model.log_mass(x)
    on_mass = np.isfinite(masses)
    cont = model.logpdf(x[~on_mass]) + np.log(resolution)
    return float(np.sum(masses[on_mass]) + np.sum(cont))


def _finish(x: np.ndarray, model: SeverityModel, k: int, at_bound: bool = False,
            tail: severity_fit.TailFit | None = None,
            choice: splice.ThresholdChoice | None = None) -> SeverityFit:
    """A continuous model fitted to claims x (point masses are added by _with_masses)."""
    ll = loglik(model, x)
    ks = stats.kstest(x, model.cdf)
    return SeverityFit(model.family, {k_: float(v) for k_, v in model.params.items()}, ll,
                       2 * k - 2 * ll, float(ks.statistic), float(ks.pvalue),
                       float(model.mean()), len(x), model, k, at_bound, tail, choice)


def fit_family(amounts: np.ndarray, family: str, threshold: float = 0.0) -> SeverityFit:
    """Plain fit (threshold 0) or the family left-truncated at ``threshold``."""
    check_family(family)
    x = _check(amounts, threshold)
    if threshold <= 0:
        return _finish(x, SeverityModel(family, _mle(family, x)), 2)
    body = severity_fit.fit_body(family, x, threshold)
    return _finish(x, SeverityModel(family, body.params, threshold), 2, body.at_bound)


def fit_spliced(amounts: np.ndarray, family: str, threshold: float,
                choice: splice.ThresholdChoice) -> SeverityFit:
    """Truncated body on [threshold, u] + the GPD of the excesses over u (u: ``choice``)."""
    x = _check(amounts, threshold)
    u, tail = choice.chosen.threshold, choice.chosen.tail
    body = severity_fit.fit_body(family, x[x <= u], threshold, u)
    phi = float(np.mean(x > u))  # its MLE: the likelihood separates
    model = SeverityModel(family, body.params, threshold, Splice(u, phi, tail.shape, tail.scale))
    return _finish(x, model, 5, body.at_bound, tail, choice)


def point_masses(x: np.ndarray, amounts: tuple[float, ...]) -> PointMasses:
    """Each fixed amount with its share of the claims (the MLE); an amount no claim sits
    on is an error: the configuration names a convention the data does not follow."""
    counts = [int(np.sum(x == a)) for a in amounts]
    absent = [a for a, c in zip(amounts, counts, strict=True) if c == 0]
    if absent:
        raise ValueError(f"point masses {absent}: no claim has that amount")
    return PointMasses(tuple(float(a) for a in amounts), tuple(c / len(x) for c in counts))


def _on_the_cent(x: np.ndarray, fit: SeverityFit) -> SeverityFit:
    """The same fit with its log-likelihood (and AIC) taken on amounts to the cent."""
    ll = loglik(fit.model, x, RESOLUTION)
    return dataclasses.replace(fit, loglik=ll, aic=2 * fit.n_params - 2 * ll)


def _with_masses(x: np.ndarray, fit: SeverityFit, masses: PointMasses) -> SeverityFit:
    """``fit`` (of the claims off the point masses) with the point masses added: its KS
    statistic already is that of the continuous part against those claims."""
    model = dataclasses.replace(fit.model, atoms=masses)
    k = fit.n_params + len(masses.amounts)
    ll = loglik(model, x, RESOLUTION)
    return dataclasses.replace(fit, model=model, loglik=ll, aic=2 * k - 2 * ll, n_params=k,
                               mean=float(model.mean()), n=len(x))


def fit_all(amounts: np.ndarray, threshold: float = 0.0,
            families: tuple[str, ...] = FAMILIES,
            splice_options: SpliceOptions | None = None,
            masses: tuple[float, ...] = ()) -> list[SeverityFit]:
    """Plain fits; with a threshold also truncated ones; with splice options also spliced;
    with point masses each of those again, fitted to the claims off the point masses."""
    x = _check(amounts, threshold)
    fits = _candidates(x, threshold, families, splice_options)
    if not masses:
        return fits
    # one scale for every candidate: the probability of each amount to the cent
    fits = [_on_the_cent(x, f) for f in fits]
    pm = point_masses(x, masses)
    rest = x[~np.isin(x, pm.amounts)]
    return fits + [_with_masses(x, f, pm)
                   for f in _candidates(rest, threshold, families, splice_options)]


def _candidates(x: np.ndarray, threshold: float, families: tuple[str, ...],
                splice_options: SpliceOptions | None) -> list[SeverityFit]:
    fits = [fit_family(x, f) for f in families]
    if threshold > 0:
        fits += [fit_family(x, f, threshold) for f in families]
    if splice_options is not None:
        so = splice_options
        choice = splice.choose_threshold(x[x >= threshold], so.quantiles, so.candidates,
                                         so.min_exceedances)
        fits += [fit_spliced(x, f, threshold, choice) for f in families]
    return fits


def choose(fits: list[SeverityFit]) -> SeverityFit:
    """CHOICE_RULE; ties go to the earlier candidate."""
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
    ax.set_xlabel(f"{fit.label} quantile")
    ax.set_ylabel("observed claim amount")
    mark = " (chosen)" if chosen else ""
    ax.set_title(f"Q-Q {fit.label}{mark}\nAIC {fit.aic:,.1f}, KS {fit.ks_statistic:.3f}",
                 fontsize=10)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return png_bytes(fig)
