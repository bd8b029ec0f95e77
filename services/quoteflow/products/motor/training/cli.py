"""Motor's part of `quoteflow train`: its data options and how they become a training run.

The platform's command (``quoteflow.training.cli``) owns what every product shares
(registry, seed, name, stage, actor, MLflow) and adds these options to it; ``run``
receives the shared values and these options, trains and registers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from quoteflow.actuarial.inflation import MissingIndex
from quoteflow.products.motor.training import config

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)

OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--policies", type=FILE,
                 help="[motor] policies CSV/Parquet (schema: products/motor/training/"
                      "schema.py); default: the shipped freMTPLmini"),
    click.option("--claims", type=FILE,
                 help="[motor] claims CSV/Parquet with accident_date (or accident_year) "
                      "and amount; default: the shipped freMTPL2sev (EUR)"),
    click.option("--cpi", type=FILE,
                 help="[motor] CPI table CSV (year,index) to index --claims to the base "
                      "year; default: no indexation"),
    click.option("--pricing", type=FILE,
                 help="[motor] pricing YAML (the mapping of the config's pricing: section); "
                      "default: data/config/base.yaml's"),
    click.option("--base-year", type=int, help="[motor] index claims to this year's prices "
                 "(default: base_year of the pricing config)"),
    click.option("--missing-index", type=click.Choice(["error", "nearest"]), default="error",
                 show_default=True, help="[motor] an accident year missing from the CPI "
                 "table is an error, or takes the nearest year's index"),
    click.option("--claims-threshold", type=float,
                 help="[motor] reporting threshold of --claims (base-year prices): fits "
                      "become left-truncated there and a spliced Pareto tail is tried"),
    click.option("--env", "env",
                 help="[motor] take data, seed, name, severity and pricing from data/config/"
                      "base.yaml merged with ENV.yaml (see `quoteflow validate-config`); the "
                      "file options above then are not allowed"),
]
NAMES = ("policies", "claims", "cpi", "pricing", "base_year", "missing_index",
         "claims_threshold", "env")


def _load_config(env: str | None) -> config.QuoteflowConfig:
    try:
        return config.load(env)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from e


def validate_config(env: str | None) -> str:
    """The merged configuration as YAML, or every error with its key."""
    import yaml

    return yaml.safe_dump(_load_config(env).model_dump(mode="json"), sort_keys=False).rstrip()


def _config_options(cfg: config.QuoteflowConfig) -> dict[str, Any]:
    from quoteflow.products.motor.training import severity_pipeline

    return {"severity_settings": severity_pipeline.from_config(cfg),
            "pricing_config": cfg.pricing,
            "quote_validity_days": cfg.pricing.quote_validity_days}


def _file_options(claims: Path | None, threshold: float | None) -> dict[str, Any]:
    from quoteflow.products.motor.training import severity_pipeline

    if claims is None and threshold is not None:
        raise click.UsageError("--claims-threshold is the threshold of a --claims file; the "
                               "shipped claims' threshold is in data/config/base.yaml")
    if claims is None or not threshold:
        return {}
    base = severity_pipeline.default_settings(True)
    return {"severity_settings": severity_pipeline.SeveritySettings(
        threshold, base.families, base.splice, base.posterior, base.abc_samples,
        base.abc_acceptance)}


def run(common: dict[str, Any], progress: Callable[[str], None], *, policies: Path | None,
        claims: Path | None, cpi: Path | None, pricing: Path | None, base_year: int | None,
        missing_index: MissingIndex, claims_threshold: float | None,
        env: str | None) -> list[Any]:
    """Train both models and register them; ``common``: registry_dir, seed, name,
    to_staging, actor (the platform's options)."""
    from quoteflow.actuarial.errors import DataError
    from quoteflow.actuarial.inflation import IndexingError
    from quoteflow.products.motor.pricing import PricingConfigError
    from quoteflow.products.motor.training import paths, pipeline
    from quoteflow.registry import RegistryError

    options: dict[str, Any] = {}
    if env is not None:
        given = [o for o, v in (("--policies", policies), ("--claims", claims), ("--cpi", cpi),
                                ("--pricing", pricing), ("--claims-threshold",
                                                         claims_threshold)) if v is not None]
        if given:
            raise click.UsageError(f"--env takes the data from the configuration; drop "
                                   f"{', '.join(given)}")
        cfg = _load_config(env)
        d = cfg.training.data
        policies, claims, cpi = d.policies, d.claims, d.cpi
        options = _config_options(cfg)
        common = {**common, "seed": cfg.training.seed, "name": cfg.training.name}
        missing_index = cfg.training.data.missing_index
    else:
        options = _file_options(claims, claims_threshold)
    try:
        return pipeline.train_and_register(
            common["registry_dir"], policies=policies, claims=claims, cpi=cpi,
            pricing=pricing, seed=common["seed"], name=common["name"] or pipeline.DEFAULT_NAME,
            missing_index=missing_index,
            base_year=base_year, to_staging=common["to_staging"], actor=common["actor"],
            progress=progress, **options)
    except (DataError, IndexingError, PricingConfigError, RegistryError,
            paths.DataNotFoundError, paths.ChecksumError, pipeline.ParityError,
            ValueError) as e:
        raise click.ClickException(str(e)) from e


def summary(versions: list[Any]) -> list[str]:
    """What `quoteflow train` prints about the data and each version, after registering."""
    td = versions[0].metadata["training_data"]
    reasons = ", ".join(f"{k} {v}" for k, v in td["outside_domain_by_reason"].items())
    lines = [f"policies: {td['policies_read']:,} read, {td['policies_outside_domain']:,} "
             f"outside the rating domain and not used{f' ({reasons})' if reasons else ''}; "
             f"claims: {td['claims']:,}"]
    for mv in versions:
        m, sev = mv.metadata["metrics"], mv.metadata["severity"]
        dist = m["premium_distribution"]["overall"]
        cur = mv.metadata["pricing"]["currency"]
        lines.append(f"registered {mv.name}:{mv.version} {mv.metadata['model_type']:<22} "
                     f"test deviance {m['poisson_deviance_test']:.5f}  severity "
                     f"{sev.get('label', sev['family'])} mean {sev['mean']:,.0f} {cur}  "
                     f"premium median {dist['median']:,.2f} {cur} "
                     f"[p5 {dist['p5']:,.2f}, p95 {dist['p95']:,.2f}]")
    return lines
