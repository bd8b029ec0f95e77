"""From data files to registered model versions: motor's one training pipeline.

``train_and_register`` is what the CLI, the local stack and the tests call. With no
file arguments it trains on the shipped real data: freMTPLmini policies (frequency)
and freMTPL2sev's French motor claims in EUR (severity). Each frequency model is fitted on the train
part of a fixed seeded split, so the out-of-sample deviance in its report describes
exactly the served artifact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quoteflow.actuarial import severity
from quoteflow.actuarial.inflation import CpiTable, IndexingSummary, MissingIndex, index_amounts
from quoteflow.cli_options import default_actor
from quoteflow.products.motor import features, onnx_graph
from quoteflow.products.motor.pricing import PricingConfig
from quoteflow.products.motor.training import (
    frequency,
    loaders,
    metadata,
    paths,
    premiums,
    report,
    severity_pipeline,
)
from quoteflow.products.motor.training.loaders import DomainFilter
from quoteflow.registry import ModelVersion, Registry
from quoteflow.registry.store import sha256_bytes
from quoteflow.training import artifact

DEFAULT_SEED = 42
DEFAULT_NAME = "motor"
PARITY_TOLERANCE = 1e-5
# The step names progress callbacks receive, in order (a CLI sizes its bar with them).
STEPS: tuple[str, ...] = (
    "load data", "fit severity", "plot severity",
    *(f"{step} {m}" for m in frequency.MODEL_TYPES for step in ("fit", "export")),
    "register",
)
Progress = Callable[[str], None]


class ParityError(RuntimeError):
    """The ONNX graph does not reproduce scikit-learn; nothing is registered."""


@dataclass
class Sources:
    policies: Path
    claims: Path
    cpi: Path | None  # None: amounts taken as they are (the shipped claims carry no date)

    def data_files(self) -> list[Path]:
        return [p for p in (self.policies, self.claims, self.cpi) if p is not None]


@dataclass
class PreparedData:
    sources: Sources
    policies: pd.DataFrame  # in-domain rows, schema.POLICY_COLUMNS
    x: np.ndarray  # design matrix of ``policies``
    domain: DomainFilter
    claims: pd.DataFrame  # accident_year, amount (as read), amount_indexed
    indexing: IndexingSummary
    pricing: PricingConfig
    split: frequency.Split
    data_sha256: str
    file_sha256: dict[str, str]


@dataclass
class TrainedModel:
    model_type: frequency.ModelType
    model: frequency.FrequencyModel
    onnx_bytes: bytes
    metrics: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainingResult:
    data: PreparedData
    severity_fits: list[severity.SeverityFit]
    chosen: severity.SeverityFit
    plots: dict[str, bytes]
    models: list[TrainedModel]
    seed: int
    posterior: Any = None  # uncertainty.Posterior of the chosen severity, if computed
    severity_settings: Any = None  # severity_pipeline.SeveritySettings used
    quote_validity_days: int = 30
    mean_check: Any = None  # severity.MeanCheck of the chosen model


def prepare(policies: Path | None = None, claims: Path | None = None, cpi: Path | None = None,
            pricing: Path | None = None, *, seed: int = DEFAULT_SEED,
            missing_index: MissingIndex = "error", base_year: int | None = None,
            pricing_config: PricingConfig | None = None) -> PreparedData:
    """Load, validate, filter and index the data; any bad input raises here."""
    src = Sources(policies or paths.fremtpl_path(), claims or paths.fremtpl2sev_path(), cpi)
    config = pricing_config or (PricingConfig.load(pricing) if pricing
                                else PricingConfig.shipped())
    if base_year is not None:
        config = config.model_copy(update={"base_year": base_year})
    domain = loaders.filter_domain(loaders.load_policies(src.policies))
    if len(domain.kept) == 0:
        raise ValueError(f"{src.policies}: no policy is inside the rating domain "
                         f"(outside, by reason: {domain.by_reason})")
    # the shipped claims (IDpol, ClaimAmount; no dates) or a file of the documented schema
    claim_frame = (loaders.load_fremtpl2sev(src.claims) if claims is None
                   else loaders.load_claims(src.claims))
    if src.cpi is None:
        indexed = claim_frame["amount"].to_numpy()
        summary = IndexingSummary(config.base_year, "none", "none: amounts taken as given, "
                                  f"at {config.base_year} values (no --cpi)", {}, {})
    else:
        indexed, summary = index_amounts(claim_frame["amount"].to_numpy(),
                                         claim_frame["accident_year"].to_numpy(),
                                         CpiTable.load(src.cpi), config.base_year,
                                         missing_index)
    claim_frame = claim_frame.assign(amount_indexed=indexed)
    digest, each = artifact.data_fingerprint(src.data_files())
    return PreparedData(src, domain.kept, loaders.design(domain.kept), domain, claim_frame,
                        summary, config, frequency.split(len(domain.kept), seed), digest, each)


def _parity(model: frequency.FrequencyModel, onnx_bytes: bytes, x: np.ndarray,
            severity_mean: float, pricing: PricingConfig) -> tuple[dict[str, float], np.ndarray]:
    """Max relative difference ONNX vs scikit-learn on the same float32 rows."""
    out = onnx_graph.run(onnx_bytes, x)
    ref = frequency.predict(model, x)
    diffs = {
        "frequency": float(np.max(np.abs(out["frequency"] / ref - 1))),
        "premium": float(np.max(np.abs(out["premium"] / pricing.premium(ref, severity_mean) - 1))),
    }
    if max(diffs.values()) > PARITY_TOLERANCE:
        raise ParityError(f"ONNX and scikit-learn disagree (max relative differences {diffs}, "
                          f"tolerance {PARITY_TOLERANCE}); nothing was registered")
    return diffs, out["premium"]


def _train_model(model_type: frequency.ModelType, data: PreparedData,
                 chosen: severity.SeverityFit, seed: int, progress: Progress,
                 deviances: dict[str, float]) -> TrainedModel:
    pol, x, sp = data.policies, data.x, data.split
    claims, exposure = pol["ClaimNb"].to_numpy(), pol["Exposure"].to_numpy()
    progress(f"fit {model_type}")
    model = frequency.fit(model_type, x[sp.train], claims[sp.train], exposure[sp.train], seed)
    null_rate = claims[sp.train].sum() / exposure[sp.train].sum()
    metrics: dict[str, Any] = {
        "poisson_deviance_test": frequency.deviance(
            frequency.predict(model, x[sp.test]), claims[sp.test], exposure[sp.test]),
        "poisson_deviance_train": frequency.deviance(
            frequency.predict(model, x[sp.train]), claims[sp.train], exposure[sp.train]),
        "poisson_deviance_test_null": frequency.deviance(
            np.full(len(sp.test), null_rate), claims[sp.test], exposure[sp.test]),
        "deviance_definition": "exposure-weighted mean Poisson deviance of ClaimNb/Exposure",
        "split": {"seed": seed, "test_fraction": frequency.TEST_FRACTION,
                  "train_rows": len(sp.train), "test_rows": len(sp.test)},
    }
    deviances[model_type] = metrics["poisson_deviance_test"]
    progress(f"export {model_type}")
    parts = premiums.severity_parts(chosen)
    onnx_bytes = onnx_graph.build(model, model_type, parts, data.pricing,
                                   doc={"feature_schema_version": features.FEATURE_SCHEMA_VERSION,
                                        "model_type": model_type})
    parity, premium = _parity(model, onnx_bytes, x, parts.total, data.pricing)
    metrics["onnx_parity"] = {"rows": len(x), "max_relative_difference": parity,
                              "tolerance": PARITY_TOLERANCE}
    # every in-domain policy priced for a year, as the ONNX graph prices it
    metrics["premium_distribution"] = premiums.distribution(premium, pol)
    return TrainedModel(model_type, model, onnx_bytes, metrics)


def train(policies: Path | None = None, claims: Path | None = None, cpi: Path | None = None,
          pricing: Path | None = None, *, seed: int = DEFAULT_SEED,
          missing_index: MissingIndex = "error", base_year: int | None = None,
          progress: Progress | None = None,
          severity_settings: severity_pipeline.SeveritySettings | None = None,
          pricing_config: PricingConfig | None = None, quote_validity_days: int = 30,
          ) -> TrainingResult:
    """Everything up to (not including) registration: models, ONNX, metadata, plots.

    ``severity_settings`` default: for the shipped claims, the base configuration's
    (reporting threshold, splice, uncertainty); for a claims file, plain fits only (its
    reporting threshold is unknown) with their parameter uncertainty.
    """
    step = progress or (lambda _name: None)
    step("load data")
    data = prepare(policies, claims, cpi, pricing, seed=seed, missing_index=missing_index,
                   base_year=base_year, pricing_config=pricing_config)
    settings = severity_settings or severity_pipeline.default_settings(claims is None)
    step("fit severity")
    amounts = data.claims["amount_indexed"].to_numpy()
    sev = severity_pipeline.run(amounts, settings, seed, data.pricing.currency)
    step("plot severity")
    result = TrainingResult(data, sev.fits, sev.chosen, sev.plots, [], seed, sev.posterior,
                            settings, quote_validity_days, sev.mean_check)
    deviances: dict[str, float] = {}
    for model_type in frequency.MODEL_TYPES:
        result.models.append(_train_model(model_type, data, sev.chosen, seed, step, deviances))
    for tm in result.models:
        tm.metadata = metadata.build(tm, result, deviances)
    return result


def register(result: TrainingResult, registry: Registry, name: str = DEFAULT_NAME
             ) -> list[ModelVersion]:
    """One new version per model (GLM first), each with its report and plots beside it."""
    versions = []
    for tm in result.models:
        text = report.render(result, tm, onnx_sha256=sha256_bytes(tm.onnx_bytes))
        extra = {"report.md": text.encode(), **result.plots}
        versions.append(registry.register(name, tm.onnx_bytes, tm.metadata, extra_files=extra))
    return versions


def train_and_register(registry_dir: Path | str, *, policies: Path | None = None,
                       claims: Path | None = None, cpi: Path | None = None,
                       pricing: Path | None = None, seed: int = DEFAULT_SEED,
                       name: str = DEFAULT_NAME, missing_index: MissingIndex = "error",
                       base_year: int | None = None, to_staging: bool = False,
                       actor: str | None = None, progress: Progress | None = None,
                       **options: Any) -> list[ModelVersion]:
    """Train both models and register them as two new versions of ``name`` (GLM first).

    With no files: the shipped real data. ``to_staging`` moves both new versions to
    Staging (the scheduled-retraining path); nothing here can move to Production.
    ``options``: ``train``'s severity_settings, pricing_config, quote_validity_days.
    """
    result = train(policies, claims, cpi, pricing, seed=seed, missing_index=missing_index,
                   base_year=base_year, progress=progress, **options)
    registry = Registry(registry_dir)
    if progress:
        progress("register")
    versions = register(result, registry, name)
    if to_staging:
        for mv in versions:
            registry.move(name, mv.version, "Staging", actor or default_actor(),
                          f"trained {mv.metadata['model_type']} on data "
                          f"{result.data.data_sha256[:12]}; staged by quoteflow train")
    return versions
