"""Partial-dependence tables of a trained classifier, one per fact, for the reasons.

A fact (reasons.GROUPS: the days since cover started with its "under 30 days" flag, the
amount with its ratio to the sum insured...) is varied as a whole: its features are set
together to the values of real training claims (its distinct value tuples when few,
else tuples spread over its sorted values), never to combinations no claim has. For
fraud and review, a tuple's value is the mean over background training rows of
log(p_class / p_valid) with the fact set to it: the fact's partial dependence, centred
so that an average claim's fact contributes 0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from quoteflow.products.claims.features import CLASSES, FEATURE_NAMES
from quoteflow.products.claims.reasons import GROUPS, nearest

METHOD = ("centred partial dependence of log(p_class / p_valid) on each fact as a whole "
          "(its features set together to real claims' values), read at the nearest "
          "tabulated value")
BACKGROUND_ROWS = 300
MAX_TUPLES = 24


def _tuples(xg: np.ndarray) -> np.ndarray:
    uniq = np.unique(xg, axis=0)
    if len(uniq) <= MAX_TUPLES:
        return uniq
    order = np.lexsort(xg.T[::-1])  # by the fact's first feature, then the next...
    picks = order[np.linspace(0, len(order) - 1, MAX_TUPLES).round().astype(np.int64)]
    return np.unique(xg[picks], axis=0)


def tables(predict_proba: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
           seed: int) -> dict[str, Any]:
    """The ``explanation`` metadata entry for a classifier over float32 rows ``x``."""
    rng = np.random.default_rng(seed)
    bg = x[rng.choice(len(x), size=min(BACKGROUND_ROWS, len(x)), replace=False)]
    groups: dict[str, Any] = {}
    for group, feats in GROUPS.items():
        cols = [FEATURE_NAMES.index(f) for f in feats]
        tuples = _tuples(x[:, cols])
        scale = np.maximum(x[:, cols].astype(np.float64).std(axis=0), 1e-6)
        batch = np.repeat(bg[None, :, :], len(tuples), axis=0)
        batch[:, :, cols] = tuples[:, None, :]
        p = np.clip(predict_proba(batch.reshape(-1, x.shape[1])), 1e-12, 1.0)
        p = p.reshape(len(tuples), len(bg), len(CLASSES))
        at_bg = nearest(bg[:, cols], tuples, scale)
        values = {}
        for k, cls in enumerate(CLASSES[1:], start=1):
            pd = np.log(p[:, :, k] / p[:, :, 0]).mean(axis=1)
            values[cls] = [round(float(v), 6) for v in pd - pd[at_bg].mean()]
        groups[group] = {"features": list(feats), "scale": scale.tolist(),
                         "tuples": tuples.astype(np.float64).tolist(), "values": values}
    return {"method": METHOD, "reference_class": "valid", "background_rows": len(bg),
            "groups": groups}
