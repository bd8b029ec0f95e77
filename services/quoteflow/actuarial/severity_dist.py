"""Claim-size distributions as the artifact records them: plain, left-truncated, spliced.

A ``SeverityModel`` is what ``metadata["severity"]`` holds (family, body parameters,
truncation point, splice) and is rebuilt from it with ``from_metadata`` (no pickle):
``quoteflow simulate`` draws from it, pricing uses its mean.

- plain: the family on (0, inf).
- truncated: the family conditioned on X >= t (t: the reporting threshold). Only claims
  above t are ever reported, so the model describes a reported claim, and its mean is
  E[X | X >= t]: the severity that goes with a count of reported claims.
- spliced: with probability 1 - phi the body conditioned on t <= X <= u, with
  probability phi u + a generalized Pareto excess (shape xi, scale sigma).
- any of these with point masses (``PointMasses``): fixed amounts a_j that carry
  probability p_j each (claims settled at a conventional flat amount, such as the French
  IRSA-IDA scales), the continuous part above taking the remaining 1 - sum p_j.
  ``logpdf`` is then the density of the continuous part (scaled by 1 - sum p_j) and
  ``log_mass`` the log probability of an amount that is a point mass.

Parameters may be numpy arrays (one value per row, broadcast against the draws): the
parameter-uncertainty code simulates many parameter sets at once with the same methods.
Tail probabilities use survival functions, never 1 - cdf: a threshold far in a fitted
family's tail would otherwise lose every digit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import special, stats

from quoteflow.actuarial.point_masses import PointMasses

FAMILIES: tuple[str, ...] = ("lognormal", "gamma", "weibull")
PARAM_NAMES: dict[str, tuple[str, str]] = {
    "lognormal": ("meanlog", "sdlog"), "gamma": ("shape", "scale"),
    "weibull": ("shape", "scale")}
Params = dict[str, Any]  # float or array per parameter


def check_family(family: str) -> None:
    if family not in FAMILIES:
        raise ValueError(f"unknown severity family {family!r}; known: {', '.join(FAMILIES)}")


def frozen_distribution(family: str, params: Params) -> Any:
    """The scipy distribution of a family on (0, inf)."""
    check_family(family)
    if family == "lognormal":
        return stats.lognorm(s=params["sdlog"], scale=np.exp(params["meanlog"]))
    if family == "gamma":
        return stats.gamma(a=params["shape"], scale=params["scale"])
    return stats.weibull_min(c=params["shape"], scale=params["scale"])


def distribution_mean(family: str, params: Params) -> float:
    return float(partial_mean(family, params, 0.0, np.inf))


def partial_mean(family: str, params: Params, lo: Any, hi: Any) -> Any:
    """E[X; lo < X <= hi] in closed form, from upper-tail functions (exact far out)."""
    check_family(family)
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    with np.errstate(divide="ignore"):
        if family == "lognormal":
            m, s = params["meanlog"], params["sdlog"]
            whole = np.exp(m + s ** 2 / 2)
            return whole * (special.ndtr((m + s ** 2 - np.log(lo)) / s)
                            - special.ndtr((m + s ** 2 - np.log(hi)) / s))
        a, sc = params["shape"], params["scale"]
        if family == "gamma":
            return a * sc * (special.gammaincc(a + 1, lo / sc) - special.gammaincc(a + 1, hi / sc))
        k = 1 + 1 / a
        return sc * special.gamma(k) * (special.gammaincc(k, (lo / sc) ** a)
                                        - special.gammaincc(k, (hi / sc) ** a))


@dataclass(frozen=True)
class Splice:
    threshold: float  # u: the tail starts above it
    tail_probability: Any  # phi = P(X > u)
    shape: Any  # xi of the generalized Pareto excess
    scale: Any  # sigma

    def tail(self) -> Any:
        return stats.genpareto(c=self.shape, scale=self.scale)

    def tail_mean(self) -> Any:
        """E[X | X > u]; infinite when xi >= 1."""
        xi = np.asarray(self.shape, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(xi < 1, self.threshold + self.scale / (1 - xi), np.inf)


@dataclass(frozen=True)
class SeverityModel:
    family: str
    params: Params
    truncation: float = 0.0  # t; 0 means plain
    splice: Splice | None = None
    atoms: PointMasses | None = None
    _body: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        check_family(self.family)
        if self.truncation < 0:
            raise ValueError("the truncation point must not be negative")
        if self.splice is not None and not self.splice.threshold > self.truncation:
            raise ValueError("the splice threshold must be above the truncation point")
        object.__setattr__(self, "_body", frozen_distribution(self.family, self.params))

    @property
    def kind(self) -> str:
        return "spliced" if self.splice else "truncated" if self.truncation > 0 else "plain"

    def continuous(self) -> SeverityModel:
        """The model without its point masses: the distribution of the other claims."""
        return SeverityModel(self.family, self.params, self.truncation, self.splice)

    def _atom_total(self) -> float:
        return self.atoms.total if self.atoms else 0.0

    @property
    def upper(self) -> float:
        return self.splice.threshold if self.splice else np.inf

    def _body_mass(self) -> Any:
        return self._body.sf(self.truncation) - self._body.sf(self.upper)

    def _phi(self) -> Any:
        return self.splice.tail_probability if self.splice else 0.0

    def logpdf(self, x: Any) -> Any:
        x = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            body = (np.log1p(-self._phi()) + np.log1p(-self._atom_total())
                    + self._body.logpdf(x) - np.log(self._body_mass()))
            out = np.where((x >= self.truncation) & (x <= self.upper), body, -np.inf)
            if self.splice:
                tail = (np.log(self._phi()) + np.log1p(-self._atom_total())
                        + self.splice.tail().logpdf(x - self.upper))
                out = np.where(x > self.upper, tail, out)
        return out

    def log_mass(self, x: Any) -> Any:
        """log P(X = x): the point masses' log probabilities, -inf elsewhere."""
        x = np.asarray(x, dtype=np.float64)
        out = np.full(x.shape, -np.inf)
        if self.atoms:
            for a, p in zip(self.atoms.amounts, self.atoms.probabilities, strict=True):
                out = np.where(x == a, np.log(p), out)
        return out

    def sf(self, x: Any) -> Any:
        """P(X > x)."""
        if self.atoms:
            return (1 - self.atoms.total) * self.continuous().sf(x) + self.atoms.mass_above(x)
        x = np.asarray(x, dtype=np.float64)
        inside = np.clip(x, self.truncation, self.upper)
        body = (self._body.sf(inside) - self._body.sf(self.upper)) / self._body_mass()
        out = self._phi() + (1 - self._phi()) * body
        if self.splice:
            tail = self._phi() * self.splice.tail().sf(np.maximum(x - self.upper, 0))
            out = np.where(x > self.upper, tail, out)
        return out

    def cdf(self, x: Any) -> Any:
        return 1 - self.sf(x)

    def isf(self, p: Any) -> Any:
        """The amount exceeded with probability p (the (1 - p) quantile)."""
        if self.atoms:
            return self._isf_with_atoms(np.asarray(p, dtype=np.float64))
        p = np.asarray(p, dtype=np.float64)
        phi = self._phi()
        # body: its own exceedance probability, rescaled into the body's window
        v = np.clip((p - phi) / (1 - phi), 0, 1)
        top = self._body.sf(self.upper)
        out = self._body.isf(top + v * self._body_mass())
        if self.splice:
            with np.errstate(divide="ignore", invalid="ignore"):
                tail = self.upper + self.splice.tail().isf(np.minimum(p / phi, 1))
            out = np.where(p < phi, tail, out)
        return out

    def _isf_with_atoms(self, p: np.ndarray) -> Any:
        """The generalised inverse of sf: in each gap between point masses the continuous
        part is inverted; a p that falls in a point mass's jump of sf gives that amount."""
        assert self.atoms is not None
        cont, rest = self.continuous(), 1 - self.atoms.total
        a, w = self.atoms.sorted()
        edges = np.concatenate([[0.0], a, [np.inf]])
        above = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]])  # mass of atoms > gap
        out: Any = np.full(np.broadcast(p, cont.mean()).shape, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(len(a) + 1):
                x = cont.isf(np.clip((p - above[k]) / rest, 0.0, 1.0))
                inside = (x >= edges[k]) & (x < edges[k + 1])
                out = np.where(np.isnan(out) & inside, x, out)
            for j in range(len(a)):
                s_at = rest * cont.sf(a[j]) + above[j + 1]
                out = np.where((p >= s_at) & (p < s_at + w[j]), a[j], out)
        return out

    def ppf(self, q: Any) -> Any:
        return self.isf(1 - np.asarray(q, dtype=np.float64))

    def rvs(self, size: Any, rng: np.random.Generator) -> Any:
        if self.atoms:
            a, w = self.atoms.sorted()
            u = rng.random(size)
            cont = self.continuous().rvs(size, rng)
            pick = np.minimum(np.searchsorted(np.cumsum(w), u, side="right"), len(a) - 1)
            return np.where(u < self.atoms.total, a[pick], cont)
        # 1 - random() lies in (0, 1]: isf(0) would be the supremum, never drawn
        return self.isf(1 - rng.random(size))

    def mean(self) -> Any:
        if self.atoms:
            return (self.atoms.partial_mean(0.0, np.inf)
                    + (1 - self.atoms.total) * self.continuous().mean())
        body = partial_mean(self.family, self.params, self.truncation, self.upper) \
            / self._body_mass()
        if not self.splice:
            return body
        return (1 - self._phi()) * body + self._phi() * self.splice.tail_mean()

    def mean_above(self, u: float) -> Any:
        """E[X; X > u]: what claims above u add to the mean (the large-loss part, u the
        splice threshold or above). Below the threshold, or without a splice, the body
        would have to be integrated too: refused rather than approximated."""
        if not self.splice or u < self.splice.threshold:
            raise ValueError("the large-loss part is defined above the splice threshold")
        s = self.splice
        xi = np.asarray(s.shape, dtype=np.float64)
        # E[X; X > u] for u >= threshold: P(X > u) E[X | X > u] under the GPD excess
        with np.errstate(divide="ignore", invalid="ignore"):
            y = u - s.threshold
            surv = s.tail().sf(y)
            excess_mean = np.where(xi < 1, (s.scale + xi * y) / (1 - xi), np.inf)
            cont = s.tail_probability * surv * (u + excess_mean)
        atoms = self.atoms.partial_mean(u, np.inf) if self.atoms else 0.0
        return (1 - self._atom_total()) * cont + atoms

    def as_metadata(self) -> dict[str, Any]:
        out: dict[str, Any] = {"family": self.family, "kind": self.kind,
                               "params": {k: float(v) for k, v in self.params.items()},
                               "truncation": float(self.truncation)}
        if self.splice:
            s = self.splice
            out["splice"] = {"threshold": float(s.threshold),
                             "tail_probability": float(s.tail_probability),
                             "tail": "generalized Pareto", "shape": float(s.shape),
                             "scale": float(s.scale)}
        if self.atoms:
            out["point_masses"] = self.atoms.as_metadata()
        return out


def from_metadata(meta: dict[str, Any]) -> SeverityModel:
    """Rebuild the model from metadata["severity"] (what ``as_metadata`` wrote)."""
    try:
        family = meta["family"]
        check_family(family)
        params = {k: float(meta["params"][k]) for k in PARAM_NAMES[family]}
        sp = meta.get("splice")
        splice = (Splice(float(sp["threshold"]), float(sp["tail_probability"]),
                         float(sp["shape"]), float(sp["scale"])) if sp else None)
        pm = meta.get("point_masses")
        atoms = (PointMasses(tuple(float(a) for a in pm["amounts"]),
                             tuple(float(p) for p in pm["probabilities"])) if pm else None)
        return SeverityModel(family, params, float(meta.get("truncation", 0.0)), splice, atoms)
    except (KeyError, TypeError) as e:
        raise ValueError(f"metadata['severity'] does not describe a severity model: "
                         f"missing or malformed {e}") from e
