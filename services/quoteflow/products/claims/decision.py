"""Cost-sensitive decisions: the cost table, the rule, and its choice on validation rows.

The rule is ``decision = argmin_d sum_y w_y p_y C[y, d]``: the Bayes decision for the
cost matrix ``C`` when ``w = (1, 1, 1)`` and the probabilities are calibrated. The class
weights ``w`` (valid's fixed at 1) correct a model's miscalibration where it matters for
cost; they are chosen on the validation set by grid search and written into the ONNX
graph (model_io.py) and the metadata, so the artifact alone fixes a claim's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from quoteflow.products.claims.features import CLASSES

RULE = "argmin over decisions d of sum over classes y of weight[y] * p[y] * cost[y][d]"
WEIGHT_GRID = np.exp(np.linspace(np.log(0.25), np.log(4.0), 25))
COST_KEYS = ("missed_fraud", "manual_review", "valid_wrongly_held",
             "needless_document_request", "incomplete_paid")


class ClaimsConfigError(ValueError):
    pass


@dataclass(frozen=True)
class ClaimsConfig:
    currency: str
    costs: dict[str, float]
    rows: int
    validation_fraction: float
    test_fraction: float
    # `quoteflow train --labels`: each reviewed claim's weight against a generated one,
    # and the share of reviewed claims kept out of training to compare versions on
    reviewed_weight: float = 5.0
    reviewed_holdout: float = 0.3

    @classmethod
    def load(cls, path: Path | None = None) -> ClaimsConfig:
        """The product's config.yaml (package data) or the given file; refused if incomplete."""
        text = (path.read_text() if path else
                resources.files("quoteflow.products.claims").joinpath("config.yaml").read_text())
        where = str(path or "products/claims/config.yaml")
        raw = yaml.safe_load(text)
        if not isinstance(raw, dict) or set(raw) != {"currency", "costs", "training"}:
            raise ClaimsConfigError(f"{where}: needs exactly currency, costs and training")
        costs = raw["costs"]
        if not isinstance(costs, dict) or set(costs) != set(COST_KEYS):
            raise ClaimsConfigError(f"{where}: costs needs exactly {', '.join(COST_KEYS)}")
        bad = [k for k, v in costs.items() if not isinstance(v, int | float) or v < 0]
        if bad:
            raise ClaimsConfigError(f"{where}: costs {', '.join(bad)} must be numbers >= 0")
        t = raw["training"]
        try:
            cfg = cls(str(raw["currency"]), {k: float(costs[k]) for k in COST_KEYS},
                      int(t["rows"]), float(t["validation_fraction"]), float(t["test_fraction"]),
                      float(t.get("reviewed_weight", 5.0)),
                      float(t.get("reviewed_holdout", 0.3)))
        except (KeyError, TypeError, ValueError) as e:
            raise ClaimsConfigError(f"{where}: training section: {e}") from e
        if cfg.rows < 1000 or not 0 < cfg.validation_fraction + cfg.test_fraction < 0.9:
            raise ClaimsConfigError(f"{where}: training needs rows >= 1000 and fractions "
                                    "summing to less than 0.9")
        if cfg.reviewed_weight <= 0 or not 0 <= cfg.reviewed_holdout < 1:
            raise ClaimsConfigError(f"{where}: training needs reviewed_weight > 0 and "
                                    "reviewed_holdout in [0, 1)")
        return cfg

    def cost_matrix(self) -> np.ndarray:
        """C[true class, decision], classes and decisions in CLASSES order."""
        c = self.costs
        return np.array([
            [0.0, c["manual_review"] + c["valid_wrongly_held"], c["needless_document_request"]],
            [c["missed_fraud"], c["manual_review"], c["missed_fraud"]],
            [c["incomplete_paid"], c["manual_review"], 0.0],
        ])


def risk(p: np.ndarray, cost: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted expected cost of each decision, per row: what the rule minimises."""
    w = np.ones(p.shape[1]) if weights is None else np.asarray(weights)
    return np.asarray((p * w) @ cost)


def decide(p: np.ndarray, cost: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Decision index per row (ties go to the lower index, as ONNX ArgMin does)."""
    return np.asarray(np.argmin(risk(p, cost, weights), axis=1))


def near_tie(p: np.ndarray, cost: np.ndarray, weights: np.ndarray, a: np.ndarray,
             b: np.ndarray, eps: float) -> np.ndarray:
    """Rows where decisions a and b are within what an error of eps per probability moves.

    Such a row's decision may differ between float64 and float32 arithmetic: the two
    weighted risks are equal to within rounding, and either decision costs the same.
    """
    wc = np.abs(np.asarray(weights)[:, None] * cost)  # |w_k C[k, d]|
    r, rows = risk(p, cost, weights), np.arange(len(p))
    gap = np.abs(r[rows, a] - r[rows, b])
    return np.asarray(gap <= eps * (wc[:, a].sum(axis=0) + wc[:, b].sum(axis=0)))


def expected_cost(p_true: np.ndarray, d: np.ndarray, cost: np.ndarray) -> float:
    """Mean over rows of the cost of decision d under the true class probabilities."""
    return float(np.mean(np.sum(p_true * cost[:, d].T, axis=1)))


def realised_cost(y: np.ndarray, d: np.ndarray, cost: np.ndarray) -> float:
    return float(np.mean(cost[y, d]))


def recall(y: np.ndarray, d: np.ndarray, cls: int) -> float:
    mask = y == cls
    return float(np.mean(d[mask] == cls)) if mask.any() else float("nan")


def choose_weights(p: np.ndarray, y: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Class weights (1, w_fraud, w_review) minimising realised cost on these rows.

    Among equal costs the weights nearest (1, 1) in log scale win: no correction
    without evidence for it.
    """
    best: tuple[float, float, np.ndarray] | None = None
    for wf in WEIGHT_GRID:
        for wr in WEIGHT_GRID:
            w = np.array([1.0, wf, wr])
            key = (realised_cost(y, decide(p, cost, w), cost),
                   float(np.log(wf) ** 2 + np.log(wr) ** 2))
            if best is None or key < best[:2]:
                best = (*key, w)
    assert best is not None
    return best[2]


def rule_metadata(cfg: ClaimsConfig, weights: np.ndarray) -> dict[str, Any]:
    return {"classes": list(CLASSES), "rule": RULE, "currency": cfg.currency,
            "costs": dict(cfg.costs), "cost_matrix": cfg.cost_matrix().tolist(),
            "cost_matrix_axes": "rows: true class, columns: decision",
            "class_weights": [float(w) for w in weights],
            "chosen_on": "validation set, minimum realised cost over a 25 x 25 log grid "
                         "of fraud and review weights in [0.25, 4]"}
