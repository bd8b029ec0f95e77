"""Seeded synthetic policies and claims with a known truth.

Frequency: Poisson with log-rate ``TRUE_INTERCEPT + design_matrix @ TRUE_COEFFICIENTS``
on the feature schema (the GLM's own form, so a GLM fit must recover it). Severity: a
known distribution (lognormal by default). Frames follow schema.py, so the same
loaders, filters and models run on them; ``write`` saves them as CSV or Parquet for
load tests and CLI runs. The quote requests of these policies are the product's
generator's (``requests.from_policies``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from quoteflow.actuarial.severity import distribution_mean, frozen_distribution
from quoteflow.products.motor import features
from quoteflow.products.motor.training import loaders

TRUE_INTERCEPT = -2.6
# Per FEATURE_NAMES column; a plausible motor tariff (young drivers, high bonus-malus
# and dense areas cost more).
TRUE_COEFFICIENTS: dict[str, float] = {
    "driver_age": -0.004, "vehicle_age": -0.01, "vehicle_power": 0.03, "bonus_malus": 0.015,
    "area_code": 0.08,
    "brand_B1": 0.05, "brand_B2": 0.02, "brand_B3": 0.1, "brand_B4": -0.05, "brand_B5": 0.12,
    "brand_B6": -0.1,
    "driver_age_18_25": 0.45, "driver_age_26_30": 0.2, "driver_age_31_40": 0.05,
    "driver_age_51_60": -0.05, "driver_age_61_70": 0.0, "driver_age_71_plus": 0.15,
    "vehicle_age_0": 0.2, "vehicle_age_6_10": -0.1, "vehicle_age_11_plus": -0.2,
}
TRUE_SEVERITY = ("lognormal", {"meanlog": 9.0, "sdlog": 1.1})  # mean about 14,800 (synthetic)


@dataclass(frozen=True)
class Truth:
    intercept: float = TRUE_INTERCEPT
    coefficients: dict[str, float] = field(default_factory=lambda: dict(TRUE_COEFFICIENTS))
    severity_family: str = TRUE_SEVERITY[0]
    severity_params: dict[str, float] = field(default_factory=lambda: dict(TRUE_SEVERITY[1]))

    @property
    def beta(self) -> np.ndarray:
        return np.array([self.coefficients[n] for n in features.FEATURE_NAMES])

    @property
    def severity_mean(self) -> float:
        return distribution_mean(self.severity_family, self.severity_params)

    def frequency(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(np.exp(self.intercept + x.astype(np.float64) @ self.beta))


def policies(n: int, seed: int, truth: Truth | None = None) -> pd.DataFrame:
    """n policies inside features.DOMAIN, with ClaimNb drawn from the true frequency."""
    truth = truth or Truth()
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "Area": rng.choice(features.AREAS, n, p=[0.05, 0.1, 0.25, 0.35, 0.25]),
        "BonusMalus": np.where(rng.random(n) < 0.6, 50, rng.integers(50, 157, n)),
        "DrivAge": np.clip(np.round(rng.normal(45, 15, n)), 18, 91).astype(np.int64),
        "VehAge": np.clip(rng.geometric(0.12, n) - 1, 0, 50).astype(np.int64),
        "VehBrand": rng.choice(features.BRANDS, n),
        "VehPower": rng.integers(4, 16, n),
        "Exposure": np.round(rng.uniform(0.05, 1.0, n), 3),
    })
    rate = truth.frequency(loaders.design(frame))
    frame.insert(6, "ClaimNb", rng.poisson(rate * frame["Exposure"].to_numpy()))
    return frame


def claims(n: int, seed: int, truth: Truth | None = None,
           years: tuple[int, int] = (2015, 2024)) -> pd.DataFrame:
    """n claims from the true severity distribution, accident dates spread over ``years``."""
    truth = truth or Truth()
    rng = np.random.default_rng(seed)
    dist = frozen_distribution(truth.severity_family, truth.severity_params)
    amounts = np.round(dist.rvs(size=n, random_state=rng), 2)
    first = np.datetime64(f"{years[0]}-01-01")
    span = (np.datetime64(f"{years[1] + 1}-01-01") - first).astype(int)
    dates = first + rng.integers(0, span, n).astype("timedelta64[D]")
    return pd.DataFrame({"accident_date": dates.astype(str), "amount": np.maximum(amounts, 0.01)})


def write(frame: pd.DataFrame, path: Path) -> Path:
    """Save as CSV or Parquet, by the file's suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: use a .csv or .parquet name")
    return path


def cpi_table(years: tuple[int, int], yearly_inflation: float = 0.02) -> pd.DataFrame:
    """A synthetic CPI table (first year = 100) matching ``claims`` years."""
    ys = np.arange(years[0], years[1] + 1)
    return pd.DataFrame({"year": ys, "index": 100 * (1 + yearly_inflation) ** (ys - years[0])})
