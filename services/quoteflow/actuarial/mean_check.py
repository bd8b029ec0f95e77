"""Is a claims file's empirical mean evidence against a fitted model's mean?"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from quoteflow.actuarial.severity_dist import SeverityModel


@dataclass(frozen=True)
class MeanCheck:
    """Where the claims' empirical mean falls among sample means drawn from the model."""

    empirical: float
    model: float
    claims: int
    samples: int
    share_below: float  # of simulated sample means at or below the empirical one
    median_sample_mean: float

    def as_metadata(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


def mean_check(model: SeverityModel, amounts: np.ndarray, seed: int,
               samples: int = 400) -> MeanCheck:
    """Draw ``samples`` portfolios of the observed size from the model: with a heavy tail
    (GPD shape near 1) the sample mean is carried by rare claims, so most portfolios show
    a mean below the model's, and an empirical mean below it is no evidence against it."""
    x = np.asarray(amounts, dtype=np.float64)
    rng = np.random.default_rng(seed)
    means = np.array([float(np.mean(model.rvs(len(x), rng))) for _ in range(samples)])
    emp = float(x.mean())
    return MeanCheck(emp, float(model.mean()), len(x), samples,
                     float(np.mean(means <= emp)), float(np.median(means)))
