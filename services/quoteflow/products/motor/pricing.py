"""The pricing configuration (data/pricing.yaml) and the premium formula it parameterises.

The ONNX graph computes the same formula (onnx_graph.py); ``premium`` here is the
numpy reference the parity check compares it with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

FORMULA = ("premium = max(minimum_premium, frequency * severity * "
           "(1 + expense_loading + profit_loading))")


class PricingConfigError(ValueError):
    pass


@dataclass(frozen=True)
class PricingConfig:
    currency: str
    base_year: int
    expense_loading: float
    profit_loading: float
    minimum_premium: float
    # decimals of the currency's unit (ISO 4217 minor unit: DKK 2): a premium is rounded
    # to it once, in shaping, and the ledger keeps it as that exact decimal
    minor_unit: int = 2

    @property
    def loading_factor(self) -> float:
        return 1.0 + self.expense_loading + self.profit_loading

    @classmethod
    def load(cls, path: Path) -> PricingConfig:
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise PricingConfigError(f"{path}: cannot read the pricing config: {e}") from e
        if not isinstance(doc, dict):
            raise PricingConfigError(f"{path}: expected a mapping of pricing settings")
        fields = set(cls.__dataclass_fields__)
        unknown, missing = set(doc) - fields, fields - set(doc) - {"minor_unit"}
        if unknown or missing:
            raise PricingConfigError(f"{path}: unknown keys {sorted(unknown)}, missing keys "
                                     f"{sorted(missing)}; expected {sorted(fields)}")
        try:
            cfg = cls(currency=str(doc["currency"]), base_year=int(doc["base_year"]),
                      expense_loading=float(doc["expense_loading"]),
                      profit_loading=float(doc["profit_loading"]),
                      minimum_premium=float(doc["minimum_premium"]),
                      minor_unit=int(doc.get("minor_unit", 2)))
        except (TypeError, ValueError) as e:
            raise PricingConfigError(f"{path}: {e}") from e
        for name in ("expense_loading", "profit_loading"):
            if not 0 <= getattr(cfg, name) < 1:
                raise PricingConfigError(f"{path}: {name} must be a fraction in [0, 1)")
        if not 0 <= cfg.minor_unit <= 4:
            raise PricingConfigError(f"{path}: minor_unit must be 0-4 decimals")
        if cfg.minimum_premium < 0:
            raise PricingConfigError(f"{path}: minimum_premium must not be negative")
        if not cfg.currency.isalpha() or len(cfg.currency) != 3:
            raise PricingConfigError(f"{path}: currency must be an ISO 4217 code like DKK")
        return cfg

    def premium(self, frequency: np.ndarray, severity: float) -> np.ndarray:
        pure = np.asarray(frequency, dtype=np.float64) * severity
        return np.maximum(self.minimum_premium, pure * self.loading_factor)

    def as_metadata(self) -> dict[str, Any]:
        """metadata["pricing"]: what inference shows in a quote's breakdown."""
        return {**asdict(self), "formula": FORMULA, "loading_factor": self.loading_factor}
