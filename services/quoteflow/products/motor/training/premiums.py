"""The severity the premium is built on, split as an insurer builds it, and the premiums
the tariff gives the book.

Per claim: attritional severity E[X; X <= u] (every claim's size up to the large-loss
threshold u, point masses included) plus the large-loss loading E[X; X > u] from the
generalized Pareto tail, u the chosen model's splice threshold. The two add up to the
model's mean. A chosen model without a tail has no large-loss split: all is attritional.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from quoteflow.actuarial.severity import SeverityFit

# bonus-malus bands of the premium report: 50 is the best French coefficient
BM_BANDS = ((50, 50), (51, 70), (71, 100), (101, 150), (151, 350))
LEVELS = {"p5": 0.05, "median": 0.5, "p95": 0.95}


@dataclass(frozen=True)
class SeverityParts:
    attritional: float  # E[X; X <= u]
    large_loss: float  # E[X; X > u]
    threshold: float | None  # u; None: no tail, no large-loss split

    @property
    def total(self) -> float:
        return self.attritional + self.large_loss

    def as_metadata(self) -> dict[str, Any]:
        return {**asdict(self), "large_loss_share": self.large_loss / self.total,
                "definition": "attritional = E[X; X <= u], large_loss = E[X; X > u] under "
                              "the chosen model, u its splice (large-loss) threshold"}


def severity_parts(fit: SeverityFit) -> SeverityParts:
    if fit.model.splice is None:
        return SeverityParts(fit.mean, 0.0, None)
    u = float(fit.model.splice.threshold)
    large = float(fit.model.mean_above(u))
    return SeverityParts(fit.mean - large, large, u)


def _levels(v: np.ndarray) -> dict[str, float]:
    return {k: round(float(np.quantile(v, q)), 2) for k, q in LEVELS.items()} | {
        "mean": round(float(v.mean()), 2), "policies": len(v)}


def distribution(premium: np.ndarray, policies: pd.DataFrame) -> dict[str, Any]:
    """Annual premiums over the book: overall, by area and by bonus-malus band."""
    premium = np.asarray(premium, dtype=np.float64)
    area = policies["Area"].to_numpy(dtype=object)
    bm = policies["BonusMalus"].to_numpy()
    bands = {f"{lo}" if lo == hi else f"{lo}-{hi}": (bm >= lo) & (bm <= hi)
             for lo, hi in BM_BANDS}
    return {"overall": _levels(premium),
            "by_area": {a: _levels(premium[area == a]) for a in sorted(set(area))},
            "by_bonus_malus": {k: _levels(premium[m]) for k, m in bands.items() if m.any()}}
