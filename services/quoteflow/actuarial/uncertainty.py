"""Parameter uncertainty of the chosen severity: ABC, checked against a Laplace posterior.

Both work in one unconstrained parameterisation theta (meanlog or log shape, log sdlog or
log scale; for a splice also logit tail probability, GPD shape, log GPD scale) under the
same prior: flat on a box of +-PRIOR_WIDTH likelihood standard errors around the MLE (a
box that does not bind where the likelihood has mass).

- Likelihood posterior: the Laplace approximation theta ~ Normal(MLE, inverse observed
  information) serves as the proposal of an importance sampler (multivariate t, 4 degrees
  of freedom, covariance doubled) weighted by likelihood x prior / proposal, so the
  likelihood posterior is exact up to Monte Carlo error even where the Laplace shape is
  not (the Danish body's meanlog is skewed); its effective sample size is reported.
- ABC (rejection with linear regression adjustment, Beaumont, Zhang & Balding 2002):
  ABC_SAMPLES parameter sets from the prior, each simulates a data set of the observed
  size, and the ABC_ACCEPT fraction whose summary statistics are nearest the observed
  ones (Euclidean distance of summaries scaled by their median absolute deviation over
  the prior draws) is kept, then regression-adjusted to the observed summaries.
  Summaries (``SUMMARIES``): body mean and standard deviation of log amount and log of
  the body mean; for a splice also the share above the splice threshold and the GPD
  score terms mean log(1 + xi y / sigma) and mean (y / sigma) / (1 + xi y / sigma) at the
  observed MLE (y: the excesses), which make the tail summaries nearly sufficient.

Credible intervals of the mean severity and the 99.5% quantile come from both posteriors.
A model with point masses is sampled on its continuous part (the claims off the point
masses); the point masses' shares are binomial proportions of thousands of claims, their
uncertainty negligible beside the tail's, and are held at their MLE (``atoms``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from quoteflow.actuarial.point_masses import PointMasses
from quoteflow.actuarial.severity_dist import PARAM_NAMES, SeverityModel, Splice
from quoteflow.actuarial.severity_fit import hessian, to_params, to_theta

ABC_SAMPLES = 10_000
ABC_ACCEPT = 0.05
PRIOR_WIDTH = 4.0
CREDIBLE = 0.95
SUMMARIES = ("body mean log amount", "body sd log amount", "log body mean",
             "share above the splice threshold", "mean log(1 + xi y/sigma)",
             "mean (y/sigma)/(1 + xi y/sigma)")
CHUNK = 250


def theta_names(model: SeverityModel) -> list[str]:
    a, b = PARAM_NAMES[model.family]
    names = [a if model.family == "lognormal" else f"log {a}", f"log {b}"]
    return names + (["logit tail_probability", "tail shape xi", "log tail scale"]
                    if model.splice else [])


def theta_of(model: SeverityModel) -> np.ndarray:
    th = to_theta(model.family, model.params)
    if model.splice:
        s = model.splice
        th = np.concatenate([th, [special.logit(s.tail_probability), s.shape, np.log(s.scale)]])
    return th


def model_of(theta: np.ndarray, like: SeverityModel) -> SeverityModel:
    """The model at theta (rows of a (k, ...) array broadcast as parameter sets)."""
    params = to_params(like.family, theta)
    splice = None
    if like.splice:
        splice = Splice(like.splice.threshold, special.expit(theta[2]), theta[3],
                        np.exp(theta[4]))
    return SeverityModel(like.family, params, like.truncation, splice)


def natural(theta: np.ndarray, like: SeverityModel) -> dict[str, np.ndarray]:
    """Posterior draws (n, k) as the model's own parameters."""
    m = model_of(theta.T, like)
    out = {k: np.asarray(v) for k, v in m.params.items()}
    if m.splice:
        out.update(tail_probability=np.asarray(m.splice.tail_probability),
                   tail_shape=np.asarray(m.splice.shape), tail_scale=np.asarray(m.splice.scale))
    return out


def _loglik(theta: np.ndarray, x: np.ndarray, like: SeverityModel) -> float:
    with np.errstate(all="ignore"):
        ll = float(np.sum(model_of(theta, like).logpdf(x)))
    return ll if np.isfinite(ll) else -1e300


def laplace(x: np.ndarray, fitted: SeverityModel) -> tuple[np.ndarray, np.ndarray]:
    """(MLE theta, covariance): the normal approximation of the posterior at the MLE."""
    th = theta_of(fitted)
    h = hessian(lambda t: -_loglik(t, x, fitted), th)
    return th, np.linalg.inv(h)


def summaries(x: np.ndarray, like: SeverityModel, ref: SeverityModel) -> np.ndarray:
    """SUMMARIES of each row of x (n_sets, n); ``ref``: the observed MLE (tail terms)."""
    up = like.splice.threshold if like.splice else np.inf
    body = x <= up
    nb = body.sum(axis=1)
    with np.errstate(all="ignore"):
        lx = np.log(x)
        m1 = np.where(body, lx, 0).sum(axis=1) / nb
        m2 = np.where(body, lx ** 2, 0).sum(axis=1) / nb
        out = [m1, np.sqrt(np.maximum(m2 - m1 ** 2, 0)),
               np.log(np.where(body, x, 0).sum(axis=1) / nb)]
        if ref.splice:
            xi, sig = float(ref.splice.shape), float(ref.splice.scale)
            tail, nt = ~body, (~body).sum(axis=1)
            y = np.where(tail, x - up, 0) / sig
            w = 1 + xi * y
            out += [nt / x.shape[1], np.where(tail, np.log(w), 0).sum(axis=1) / nt,
                    np.where(tail, y / w, 0).sum(axis=1) / nt]
    return np.column_stack(out)


@dataclass
class Posterior:
    names: list[str]
    laplace_mean: np.ndarray
    laplace_cov: np.ndarray
    abc_draws: np.ndarray  # (accepted, k), regression-adjusted theta
    abc_raw: np.ndarray  # (accepted, k), before the adjustment
    tolerance: float
    fitted: SeverityModel

    lik_draws: np.ndarray  # (n, k) importance-sampled theta
    lik_weights: np.ndarray  # (n,) normalised
    samples: int = ABC_SAMPLES
    atoms: PointMasses | None = None  # held at their MLE; the mean and quantile include them

    @property
    def lik_ess(self) -> float:
        return float(1 / np.sum(self.lik_weights ** 2))

    def lik_mean_sd(self) -> tuple[np.ndarray, np.ndarray]:
        w = self.lik_weights[:, None]
        mean = (w * self.lik_draws).sum(axis=0)
        return mean, np.sqrt((w * (self.lik_draws - mean) ** 2).sum(axis=0))

    def functionals(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        m = dataclasses.replace(model_of(theta.T, self.fitted), atoms=self.atoms)
        with np.errstate(all="ignore"):
            return {"mean": np.asarray(m.mean()), "q99.5": np.asarray(m.isf(0.005))}

    def intervals(self) -> dict[str, dict[str, list[float]]]:
        lo, hi = (1 - CREDIBLE) / 2, 1 - (1 - CREDIBLE) / 2
        out: dict[str, dict[str, list[float]]] = {}
        n = len(self.abc_draws)
        for method, draws, w in (("abc", self.abc_draws, np.full(n, 1 / n)),
                                 ("likelihood", self.lik_draws, self.lik_weights)):
            f = self.functionals(draws)
            out[method] = {k: [weighted_quantile(v, w, q) for q in (lo, 0.5, hi)]
                           for k, v in f.items()}
        return out

    def as_metadata(self) -> dict[str, Any]:
        nat = natural(self.abc_draws, self.fitted)
        return {"method": "ABC rejection with linear regression adjustment",
                "prior": f"flat on theta within +-{PRIOR_WIDTH} likelihood standard errors "
                         "of the MLE", "samples": self.samples,
                "acceptance": len(self.abc_draws) / self.samples,
                "summaries": list(SUMMARIES[:3] if not self.fitted.splice else SUMMARIES),
                "theta": self.names, "credible": CREDIBLE, "intervals": self.intervals(),
                "laplace": {"mean": self.laplace_mean.tolist(),
                            "cov": self.laplace_cov.tolist()},
                "likelihood_posterior": "importance sampling from the Laplace approximation",
                "likelihood_ess": self.lik_ess,
                "draws": {k: [float(x) for x in v] for k, v in nat.items()}}


def weighted_quantile(v: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][min(np.searchsorted(cum, q * cum[-1]), len(v) - 1)])


def loglik_many(theta: np.ndarray, x: np.ndarray, like: SeverityModel) -> np.ndarray:
    """Log-likelihood of x at each row of theta (n, k), vectorised in chunks."""
    out = np.empty(len(theta))
    for i in range(0, len(theta), CHUNK):
        m = model_of(theta[i:i + CHUNK].T[:, :, None], like)
        with np.errstate(all="ignore"):
            out[i:i + CHUNK] = m.logpdf(x[None, :]).sum(axis=1)
    return np.where(np.isfinite(out), out, -np.inf)


def likelihood_posterior(x: np.ndarray, fitted: SeverityModel, th: np.ndarray,
                         cov: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                         rng: np.random.Generator, n: int = ABC_SAMPLES
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Importance sampling of the posterior under the flat box prior [lo, hi]."""
    from scipy import stats

    proposal = stats.multivariate_t(loc=th, shape=2 * cov, df=4)
    draws = proposal.rvs(size=n, random_state=rng).reshape(n, len(th))
    inside = np.all((draws >= lo) & (draws <= hi), axis=1)
    logw = np.where(inside, loglik_many(draws, x, fitted) - proposal.logpdf(draws), -np.inf)
    w = np.exp(logw - logw.max())
    return draws, w / w.sum()


def abc(x: np.ndarray, fitted: SeverityModel, seed: int, samples: int = ABC_SAMPLES,
        accept: float = ABC_ACCEPT) -> Posterior:
    """ABC posterior of ``fitted``'s parameters on claims x, with the Laplace one beside it.

    With point masses: of the continuous part's parameters, on the claims off them."""
    x = np.asarray(x, dtype=np.float64)
    if fitted.atoms is not None:
        post = abc(x[~np.isin(x, fitted.atoms.amounts)], fitted.continuous(), seed, samples,
                   accept)
        post.atoms = fitted.atoms
        return post
    th, cov = laplace(x, fitted)
    sd = np.sqrt(np.diag(cov))
    rng = np.random.default_rng(seed)
    lo, hi = th - PRIOR_WIDTH * sd, th + PRIOR_WIDTH * sd
    prior = rng.uniform(lo, hi, size=(samples, len(th)))
    s_obs = summaries(x[None, :], fitted, fitted)[0]
    sims = np.empty((samples, len(s_obs)))
    for i in range(0, samples, CHUNK):
        block = prior[i:i + CHUNK]
        m = model_of(block.T[:, :, None], fitted)
        sims[i:i + CHUNK] = summaries(m.rvs((len(block), len(x)), rng), fitted, fitted)
    finite = np.all(np.isfinite(sims), axis=1)
    mad = np.median(np.abs(sims[finite] - np.median(sims[finite], axis=0)), axis=0)
    dist = np.where(finite, np.sqrt((((sims - s_obs) / mad) ** 2).sum(axis=1)), np.inf)
    keep = np.argsort(dist, kind="stable")[:round(accept * samples)]
    d = sims[keep] - s_obs
    design = np.column_stack([np.ones(len(keep)), d])
    beta, *_ = np.linalg.lstsq(design, prior[keep], rcond=None)
    adjusted = prior[keep] - d @ beta[1:]
    draws, weights = likelihood_posterior(x, fitted, th, cov, lo, hi, rng)
    return Posterior(theta_names(fitted), th, cov, adjusted, prior[keep],
                     float(dist[keep[-1]]), fitted, draws, weights, samples)
