"""Test-set figures of a decision rule: per-class precision/recall/F1, confusion, costs."""

from __future__ import annotations

from typing import Any

import numpy as np

from quoteflow.products.claims import decision
from quoteflow.products.claims.features import CLASSES


def figures(y: np.ndarray, d: np.ndarray, p_model: np.ndarray, p_true: np.ndarray,
            cost: np.ndarray) -> dict[str, Any]:
    """Everything the report and the metrics show for one rule on the same rows.

    ``expected_cost`` uses the generator's true probabilities (low variance, what the
    Bayes comparison is about); ``realised_cost`` the drawn labels.
    """
    from sklearn.metrics import confusion_matrix, log_loss, precision_recall_fscore_support

    labels = list(range(len(CLASSES)))
    prec, rec, f1, support = precision_recall_fscore_support(
        y, d, labels=labels, zero_division=0)
    p = np.clip(p_model, 1e-12, 1.0)
    return {
        "per_class": {c: {"precision": float(prec[k]), "recall": float(rec[k]),
                          "f1": float(f1[k]), "support": int(support[k]),
                          "decided": int(np.sum(d == k))}
                      for k, c in enumerate(CLASSES)},
        "macro_f1": float(np.mean(f1)),
        "accuracy": float(np.mean(y == d)),
        "confusion_matrix": confusion_matrix(y, d, labels=labels).tolist(),
        "expected_cost": decision.expected_cost(p_true, d, cost),
        "realised_cost": decision.realised_cost(y, d, cost),
        "fraud_recall": decision.recall(y, d, CLASSES.index("fraud")),
        "log_loss": float(log_loss(y, p / p.sum(axis=1, keepdims=True), labels=labels)),
        "rows": len(y),
    }


def comparison(models: dict[str, dict[str, Any]], bayes: dict[str, Any],
               pay_all_cost: float) -> dict[str, Any]:
    """Each model's expected cost and fraud recall beside the Bayes-optimal rule's."""
    return {
        "bayes_optimal": {"expected_cost": bayes["expected_cost"],
                          "fraud_recall": bayes["fraud_recall"],
                          "macro_f1": bayes["macro_f1"]},
        "pay_everything_expected_cost": pay_all_cost,
        "models": {name: {"expected_cost": m["expected_cost"],
                          "fraud_recall": m["fraud_recall"],
                          "macro_f1": m["macro_f1"],
                          "excess_over_bayes": m["expected_cost"] / bayes["expected_cost"] - 1}
                   for name, m in models.items()},
    }
