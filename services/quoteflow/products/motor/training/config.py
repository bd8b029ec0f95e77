"""Motor's training and pricing configuration per environment: base.yaml + <env>.yaml.

The files ship in the product's package (``products/motor/data/config/``). ``load(env)``
reads base.yaml, deep-merges the environment's file over it (mappings merge key by key;
lists and scalars replace) and validates the result with ``QuoteflowConfig``: unknown
keys are refused, and every error names its key path
(``training.severity.splice.candidates: ...``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, ValidationError, model_validator

from quoteflow.products.motor.pricing import PricingConfig
from quoteflow.products.motor.training.paths import CONFIG_DIR

Family = Literal["lognormal", "gamma", "weibull"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(Strict):
    policies: Path | None = None
    claims: Path | None = None
    cpi: Path | None = None
    missing_index: Literal["error", "nearest"] = "error"
    reporting_threshold: float = Field(ge=0)


class SpliceConfig(Strict):
    enabled: bool = True
    quantiles: tuple[float, float] = (0.5, 0.95)
    candidates: int = Field(19, ge=2, le=200)
    min_exceedances: int = Field(100, ge=10)

    @model_validator(mode="after")
    def _levels(self) -> SpliceConfig:
        lo, hi = self.quantiles
        if not 0 < lo < hi < 1:
            raise ValueError("quantiles must be two levels 0 < low < high < 1")
        return self


class UncertaintyConfig(Strict):
    enabled: bool = True
    abc_samples: int = Field(10_000, ge=100)
    abc_acceptance: float = Field(0.05, gt=0, le=0.5)


class SeverityConfig(Strict):
    families: list[Family] = Field(min_length=1)
    # fixed settlement amounts (a claims convention's flat amounts), modelled as point
    # masses; empty: none
    point_masses: list[PositiveFloat] = Field(default_factory=list)
    splice: SpliceConfig
    uncertainty: UncertaintyConfig


class TrainingConfig(Strict):
    name: str = Field(min_length=1)
    seed: int
    data: DataConfig
    severity: SeverityConfig


class QuoteflowConfig(Strict):
    training: TrainingConfig
    pricing: PricingConfig


class ConfigError(ValueError):
    """Every problem of a configuration, one per line, each with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{source}: {len(problems)} error(s)\n" + "\n".join(problems))


def environments(config_dir: Path = CONFIG_DIR) -> list[str]:
    return sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem != "base")


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(
            out.get(k), dict) else v
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(str(path), [f"cannot read: {e}"]) from e
    if not isinstance(doc, dict):
        raise ConfigError(str(path), ["(top level): expected a mapping"])
    return doc


def merged(env: str | None, config_dir: Path = CONFIG_DIR) -> dict[str, Any]:
    doc = _read(config_dir / "base.yaml")
    if env is not None:
        path = config_dir / f"{env}.yaml"
        if env == "base" or not path.is_file():
            raise ConfigError(str(config_dir), [
                f"--env: unknown environment {env!r}; known: "
                f"{', '.join(environments(config_dir)) or 'none'}"])
        doc = deep_merge(doc, _read(path))
    return doc


def validate(doc: dict[str, Any], source: str) -> QuoteflowConfig:
    try:
        return QuoteflowConfig.model_validate(doc)
    except ValidationError as e:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
                    for err in e.errors()]
        raise ConfigError(source, problems) from e


def load(env: str | None = None, config_dir: Path = CONFIG_DIR) -> QuoteflowConfig:
    """base.yaml merged with <env>.yaml (none: base alone), validated."""
    source = f"{config_dir}/base.yaml" + (f" + {env}.yaml" if env else "")
    return validate(merged(env, config_dir), source)
