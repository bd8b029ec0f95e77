"""Claim frequency models: the Poisson GLM baseline and gradient-boosted Poisson trees.

Both model claims per policy-year. Fitting y = ClaimNb / Exposure with
sample_weight = Exposure under the Poisson loss is the Poisson likelihood of ClaimNb
with a log(Exposure) offset (the two differ by a constant), so the GLM below is the
textbook offset model; tests check it against statsmodels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import mean_poisson_deviance

ModelType = Literal["poisson_glm", "hist_gradient_boosting"]
MODEL_TYPES: tuple[ModelType, ...] = ("poisson_glm", "hist_gradient_boosting")
TEST_FRACTION = 0.2
GBM_PARAMS = {
    "max_iter": 100, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 200,
    # Fixed number of trees: early stopping would carve its own random validation set.
    "early_stopping": False,
}
# scikit-learn has no type information (Any to mypy): the alias says which two it is
FrequencyModel: TypeAlias = PoissonRegressor | HistGradientBoostingRegressor


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    test: np.ndarray


def split(n: int, seed: int, test_fraction: float = TEST_FRACTION) -> Split:
    """A fixed, seeded split of row indices (sorted, so row order is kept)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_test = round(n * test_fraction)
    return Split(np.sort(perm[n_test:]), np.sort(perm[:n_test]))


def fit(model_type: ModelType, x: np.ndarray, claims: np.ndarray, exposure: np.ndarray,
        seed: int) -> FrequencyModel:
    # float64: the unpenalised GLM's Hessian is ill-conditioned in float32 (age and
    # bonus-malus in raw units next to 0/1 dummies) and the solver would fall back.
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(claims, dtype=np.float64) / exposure
    model: FrequencyModel
    if model_type == "poisson_glm":
        model = PoissonRegressor(alpha=0.0, solver="newton-cholesky", tol=1e-10, max_iter=1000)
    elif model_type == "hist_gradient_boosting":
        model = HistGradientBoostingRegressor(loss="poisson", random_state=seed, **GBM_PARAMS)
    else:
        raise ValueError(f"unknown model type {model_type!r}; known: {', '.join(MODEL_TYPES)}")
    model.fit(x, y, sample_weight=exposure)  # fits in place (and returns itself)
    return model


def predict(model: FrequencyModel, x: np.ndarray) -> np.ndarray:
    """Expected claims per policy-year from the float32 model input."""
    return np.asarray(model.predict(np.asarray(x, dtype=np.float32).astype(np.float64)))


def deviance(pred: np.ndarray, claims: np.ndarray, exposure: np.ndarray) -> float:
    """Exposure-weighted mean Poisson deviance of claim frequencies (lower is better)."""
    return float(mean_poisson_deviance(claims / exposure, pred, sample_weight=exposure))
