"""Maximum likelihood for truncated bodies and the generalized Pareto tail.

Every fit runs on amounts divided by their geometric mean (the optimisers behave on
O(1) numbers; every family here is a scale family, so rescaling back is exact), in an
unconstrained parameterisation (log of positive parameters) with wide bounds: on
truncated data the likelihood of some families keeps rising towards a degenerate
limit (gamma's shape to 0 on the Danish losses), and the bound is then reported
(``at_bound``) rather than hidden.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from quoteflow.actuarial.severity_dist import PARAM_NAMES, Params, frozen_distribution

# theta bounds in the scaled units: (meanlog or log shape, log sdlog or log scale)
BOUNDS: dict[str, list[tuple[float, float]]] = {
    "lognormal": [(-50.0, 50.0), (np.log(1e-3), np.log(50.0))],
    "gamma": [(np.log(1e-4), np.log(1e4)), (np.log(1e-8), np.log(1e8))],
    "weibull": [(np.log(1e-3), np.log(1e3)), (np.log(1e-12), np.log(1e12))],
}


@dataclass(frozen=True)
class BodyFit:
    params: dict[str, float]
    loglik: float  # of the body claims under the window-conditioned density
    at_bound: bool


@dataclass(frozen=True)
class TailFit:
    shape: float
    scale: float
    shape_se: float
    scale_se: float
    loglik: float  # of the excesses
    n: int


def to_params(family: str, theta: np.ndarray, scale: float = 1.0) -> Params:
    a, b = theta[0], theta[1]
    if family == "lognormal":
        return {"meanlog": a + np.log(scale), "sdlog": np.exp(b)}
    return {"shape": np.exp(a), "scale": np.exp(b) * scale}


def to_theta(family: str, params: Params) -> np.ndarray:
    names = PARAM_NAMES[family]
    first = params[names[0]] if family == "lognormal" else np.log(params[names[0]])
    return np.array([first, np.log(params[names[1]])], dtype=np.float64)


def window_loglik(family: str, params: Params, x: np.ndarray, lo: float, hi: float) -> float:
    """Log-likelihood of x under the family conditioned on lo <= X <= hi."""
    d = frozen_distribution(family, params)
    mass = d.sf(lo) - d.sf(hi)
    return float(np.sum(d.logpdf(x)) - len(x) * np.log(mass)) if mass > 0 else -np.inf


def _start(family: str, z: np.ndarray) -> list[np.ndarray]:
    logs = np.log(z)
    if family == "lognormal":
        return [np.array([logs.mean(), np.log(logs.std() + 1e-9)]),
                np.array([logs.mean() - 2 * logs.std(), np.log(2 * logs.std() + 1e-9)])]
    mean, var = z.mean(), z.var() + 1e-12
    return [np.array([np.log(mean ** 2 / var), np.log(var / mean)]), np.array([0.0, 0.0])]


def fit_body(family: str, x: np.ndarray, lo: float = 0.0, hi: float = np.inf) -> BodyFit:
    """MLE of the family conditioned on [lo, hi] (lo = 0, hi = inf: untruncated)."""
    s = float(np.exp(np.mean(np.log(x))))
    z, zlo, zhi = x / s, lo / s, hi / s
    bounds = BOUNDS[family]

    def nll(theta: np.ndarray) -> float:
        ll = window_loglik(family, to_params(family, theta), z, zlo, zhi)
        return -ll if np.isfinite(ll) else 1e300

    best = None
    for x0 in _start(family, z):
        x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
        r = optimize.minimize(nll, x0, method="L-BFGS-B", bounds=bounds)
        r = optimize.minimize(nll, r.x, method="Nelder-Mead", bounds=bounds,
                              options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 4000})
        if best is None or r.fun < best.fun:
            best = r
    assert best is not None
    at_bound = any(min(abs(v - b[0]), abs(v - b[1])) < 1e-3 for v, b in zip(best.x, bounds,
                                                                             strict=True))
    params = {k: float(v) for k, v in to_params(family, best.x, s).items()}
    return BodyFit(params, window_loglik(family, params, x, lo, hi), at_bound)


def gpd_loglik(shape: float, scale: float, y: np.ndarray) -> float:
    return float(np.sum(stats.genpareto.logpdf(y, shape, scale=scale)))


def observed_information_se(nll: Callable[[np.ndarray], float], at: np.ndarray
                            ) -> np.ndarray:
    """Standard errors from the inverse Hessian of the negative log-likelihood."""
    cov = np.linalg.inv(hessian(nll, at))
    return np.asarray(np.sqrt(np.diag(cov)))


def hessian(f: Callable[[np.ndarray], float], at: np.ndarray, rel_step: float = 1e-3
            ) -> np.ndarray:
    """Central-difference Hessian of a scalar function (steps relative to |at|, min 1e-3).

    scipy.differentiate.hessian wants an elementwise-vectorised function; a
    log-likelihood summed over claims is not one, so the classic stencil is used.
    """
    at = np.asarray(at, dtype=np.float64)
    h = rel_step * np.maximum(np.abs(at), 1.0)
    k = len(at)
    out = np.empty((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * h[i], np.eye(k)[j] * h[j]
            out[i, j] = out[j, i] = (f(at + ei + ej) - f(at + ei - ej) - f(at - ei + ej)
                                     + f(at - ei - ej)) / (4 * h[i] * h[j])
    return out


def fit_gpd(y: np.ndarray) -> TailFit:
    """Generalized Pareto MLE of excesses y > 0, standard errors from the Hessian."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 10:
        raise ValueError(f"a generalized Pareto tail needs at least 10 excesses, got {len(y)}")
    s = float(np.mean(y))
    xi, _, sc = stats.genpareto.fit(y / s, floc=0)

    def nll(p: np.ndarray) -> float:
        ll = gpd_loglik(p[0], p[1], y / s)
        return -ll if np.isfinite(ll) and p[1] > 0 else 1e300

    r = optimize.minimize(nll, np.array([xi, sc]), method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-10})
    se = observed_information_se(nll, r.x)
    return TailFit(float(r.x[0]), float(r.x[1] * s), float(se[0]), float(se[1] * s),
                   gpd_loglik(r.x[0], r.x[1] * s, y), len(y))
