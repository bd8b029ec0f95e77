"""Motor's pricing configuration and the premium formula it parameterises.

One definition: the ``pricing:`` section of the training configuration
(``data/config/base.yaml``, merged with an environment's file) is validated by this
class, and a ``--pricing FILE`` holds the same mapping. Training bakes it into the
artifact (the ONNX graph does the arithmetic, ``metadata.json["pricing"]`` records it),
so a price never depends on constants in service code. ``premium`` here is the numpy
reference the ONNX parity check compares the graph with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

FORMULA = ("premium = max(minimum_premium, frequency * (attritional_severity + "
           "large_loss_severity) * (1 + expense_loading + profit_loading))")


class PricingConfigError(ValueError):
    pass


class GuardrailsConfig(BaseModel):
    """What holds a price besides the model (actuarial/guardrails.py applies them); the
    floor is the tariff's minimum premium."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ceiling: float | None = Field(default=None, gt=0, description="in the currency")
    renewal_cap: float | None = Field(
        default=None, ge=0, lt=1,
        description="a renewal moves at most this fraction from the bound premium, up or down")
    enbp: bool = Field(default=True, description="a renewal never above new business's price")


class PricingConfig(BaseModel):
    """Currency, price level, loadings, minimum premium, rounding and quote validity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")
    base_year: int = Field(ge=1900, le=2200, description="the claims' price level")
    expense_loading: float = Field(ge=0, lt=1, description="fraction of the pure premium")
    profit_loading: float = Field(ge=0, lt=1, description="fraction of the pure premium")
    minimum_premium: float = Field(ge=0, description="in the currency")
    # decimals of the currency's unit (ISO 4217 minor unit: EUR 2): a premium is rounded
    # to it once, in shaping, and the ledger keeps it as that exact decimal
    minor_unit: int = Field(default=2, ge=0, le=4)
    quote_validity_days: int = Field(default=30, ge=1, le=366)
    # the largest shares of the book a new version may move before its rollout needs an
    # explicit acceptance (quoteflow dislocation): "over_10" = up or down by over 10%
    dislocation_limits: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict)
    guardrails: GuardrailsConfig = GuardrailsConfig()

    @model_validator(mode="after")
    def _ceiling_above_floor(self) -> PricingConfig:
        ceiling = self.guardrails.ceiling
        if ceiling is not None and ceiling < self.minimum_premium:
            raise ValueError(f"guardrails.ceiling {ceiling} is below minimum_premium "
                             f"{self.minimum_premium}")
        return self

    @property
    def loading_factor(self) -> float:
        return 1.0 + self.expense_loading + self.profit_loading

    @classmethod
    def load(cls, path: Path) -> PricingConfig:
        """A YAML file holding the ``pricing:`` mapping of the configuration."""
        try:
            doc = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise PricingConfigError(f"{path}: cannot read the pricing config: {e}") from e
        if not isinstance(doc, dict):
            raise PricingConfigError(f"{path}: expected a mapping of pricing settings")
        try:
            return cls.model_validate(doc)
        except ValidationError as e:
            problems = "; ".join(f"{'.'.join(map(str, err['loc'])) or '(top level)'}: "
                                 f"{err['msg']}" for err in e.errors())
            raise PricingConfigError(f"{path}: {problems}") from e

    @classmethod
    def shipped(cls) -> PricingConfig:
        """The base configuration's pricing section: what `quoteflow train` uses by default."""
        from quoteflow.products.motor.training import config

        return config.load(None).pricing

    def premium(self, frequency: np.ndarray, severity: float) -> np.ndarray:
        pure = np.asarray(frequency, dtype=np.float64) * severity
        return np.maximum(self.minimum_premium, pure * self.loading_factor)

    def as_metadata(self) -> dict[str, Any]:
        """metadata["pricing"]: what inference shows in a quote's breakdown."""
        return {**self.model_dump(exclude={"quote_validity_days"}), "formula": FORMULA,
                "loading_factor": self.loading_factor}
