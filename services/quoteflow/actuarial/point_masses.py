"""Point masses of a claim-size distribution: fixed settlement amounts and their shares.

Claims settled at a conventional flat amount (the French IRSA-IDA scales, say) are not
draws from a density: each such amount a_j carries a probability p_j of its own, and the
continuous model describes the other claims (``severity_dist.SeverityModel.atoms``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class PointMasses:
    """Fixed claim amounts and the probability each carries (scalars: read from the data)."""

    amounts: tuple[float, ...]
    probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.amounts) != len(self.probabilities) or not self.amounts:
            raise ValueError("point masses need one probability per amount, at least one")
        if len(set(self.amounts)) != len(self.amounts) or min(self.amounts) <= 0:
            raise ValueError("point-mass amounts must be distinct and positive")
        if min(self.probabilities) <= 0 or sum(self.probabilities) >= 1:
            raise ValueError("point-mass probabilities must be positive and sum below 1")

    @property
    def total(self) -> float:
        return float(sum(self.probabilities))

    def sorted(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.amounts)
        return (np.asarray(self.amounts, dtype=np.float64)[order],
                np.asarray(self.probabilities, dtype=np.float64)[order])

    def partial_mean(self, lo: float, hi: float) -> float:
        """sum of a_j p_j over the point masses with lo < a_j <= hi."""
        return float(sum(a * p for a, p in zip(self.amounts, self.probabilities, strict=True)
                         if lo < a <= hi))

    def mass_above(self, x: Any) -> Any:
        a, p = self.sorted()
        return np.sum(np.where(np.asarray(x)[..., None] < a, p, 0.0), axis=-1)

    def as_metadata(self) -> dict[str, Any]:
        return {"amounts": [float(a) for a in self.amounts],
                "probabilities": [float(p) for p in self.probabilities]}
