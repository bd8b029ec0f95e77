"""Claim triage's batch columns: a scored chunk's decisions, probabilities and reasons.

The platform judges a book's claims as the live API would (batch/judged.py, through
``ClaimRequest`` itself: claim triage's volumes are thousands of claims, not millions of
quotes, so claims has no fast path).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quoteflow.products.claims import features


def scored_columns(outputs: dict[str, np.ndarray], reasons: list[list[str]]
                   ) -> dict[str, Any]:
    """A scored chunk's output columns: decision, one column per class probability, reasons."""
    p = np.asarray(outputs["probabilities"]).reshape(-1, len(features.CLASSES))
    decision = np.asarray(outputs["decision"]).reshape(-1)
    cols: dict[str, Any] = {
        "decision": np.asarray(features.CLASSES, dtype=object)[decision]}
    for k, c in enumerate(features.CLASSES):
        cols[f"probability_{c}"] = p[:, k].astype(np.float64)
    cols["reasons"] = np.array([" | ".join(r) for r in reasons], dtype=object)
    return cols
