"""The change per policy between two versions' premiums, summarised for sign-off."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

THRESHOLDS = (0.05, 0.10, 0.25)
BANDS = 5  # premium bands: quintiles of the current premium
LARGEST = 10


@dataclass
class Review:
    model: str
    from_version: str
    to_version: str
    book: str
    policies: int
    rejected: int
    mean_from: float
    mean_to: float
    change_quantiles: dict[str, float]  # of new / old - 1
    shares: dict[str, float]  # "up_10": share of policies moving up by more than 10%
    by_segment: dict[str, list[dict[str, Any]]]
    by_band: list[dict[str, Any]]
    largest: list[dict[str, Any]]
    limits: dict[str, float] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)

    @property
    def within_limits(self) -> bool:
        return not self.breaches

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "within_limits": self.within_limits}


def _shares(change: np.ndarray) -> dict[str, float]:
    n = max(len(change), 1)
    out: dict[str, float] = {}
    for t in THRESHOLDS:
        pct = round(t * 100)
        out[f"up_{pct}"] = float(np.sum(change > t) / n)
        out[f"down_{pct}"] = float(np.sum(change < -t) / n)
        out[f"over_{pct}"] = out[f"up_{pct}"] + out[f"down_{pct}"]
    return out


def _level_key(level: Any) -> tuple[int, float, str]:
    """Levels that start with a number in numeric order (power 4 before 10, band
    51-70 before 101-150), then text."""
    m = re.match(r"\d+(\.\d+)?", str(level))
    return (0, float(m.group()), str(level)) if m else (1, 0.0, str(level))


def _group(change: np.ndarray, old: np.ndarray, new: np.ndarray, keys: np.ndarray
           ) -> list[dict[str, Any]]:
    rows = []
    for level in sorted(set(keys.tolist()), key=_level_key):
        m = keys == level
        rows.append({"level": str(level), "policies": int(m.sum()),
                     "mean_from": float(old[m].mean()), "mean_to": float(new[m].mean()),
                     "mean_change": float(new[m].sum() / old[m].sum() - 1),
                     **{k: v for k, v in _shares(change[m]).items() if k.endswith("10")}})
    return rows


def _bands(change: np.ndarray, old: np.ndarray, new: np.ndarray) -> list[dict[str, Any]]:
    edges = np.unique(np.quantile(old, np.linspace(0, 1, BANDS + 1)))
    idx = np.clip(np.searchsorted(edges, old, side="right") - 1, 0, len(edges) - 2)
    labels = np.array([f"{edges[i]:,.2f} - {edges[i + 1]:,.2f}" for i in idx])
    rows = _group(change, old, new, idx)
    for r in rows:
        r["level"] = labels[idx == int(r["level"])][0]
    return rows


def review(model: str, from_version: str, to_version: str, book: str, priced: pd.DataFrame,
           segments: dict[str, np.ndarray], rejected: int,
           limits: dict[str, float] | None = None) -> Review:
    """``priced``: row_number, policy_id, premium (the new version's), compare_premium
    (the current one's); ``segments``: each rating factor's level per priced row."""
    old = priced["compare_premium"].to_numpy(dtype=np.float64)
    new = priced["premium"].to_numpy(dtype=np.float64)
    if len(old) == 0:
        raise ValueError(f"{book}: no policy could be priced on both versions")
    change = new / old - 1
    order = np.argsort(-np.abs(change), kind="stable")[:LARGEST]
    largest = [{"row_number": int(priced["row_number"].iloc[i]),
                "policy_id": None if pd.isna(priced["policy_id"].iloc[i])
                else str(priced["policy_id"].iloc[i]),
                "from": float(old[i]), "to": float(new[i]), "change": float(change[i]),
                **{k: str(v[i]) for k, v in segments.items()}} for i in order]
    shares = _shares(change)
    limits = dict(limits or {})
    unknown = sorted(set(limits) - set(shares))
    if unknown:
        raise ValueError(f"dislocation limits {unknown}: unknown; known: {sorted(shares)}")
    breaches = [f"{k}: {shares[k]:.1%} of policies, limit {v:.1%}"
                for k, v in sorted(limits.items()) if shares.get(k, 0.0) > v]
    return Review(model, from_version, to_version, book, len(old), rejected,
                  float(old.mean()), float(new.mean()),
                  {f"p{q}": float(np.percentile(change, q)) for q in (1, 5, 25, 50, 75, 95, 99)},
                  shares, {k: _group(change, old, new, v) for k, v in segments.items()},
                  _bands(change, old, new), largest, limits, breaches)
