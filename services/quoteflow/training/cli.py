"""`quoteflow train`: train the frequency models, price them, register two versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from quoteflow import products
from quoteflow.cli_options import registry_option
from quoteflow.registry import RegistryError

if TYPE_CHECKING:
    from quoteflow.config import QuoteflowConfig

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load_config(env: str | None) -> QuoteflowConfig:
    from quoteflow import config

    try:
        return config.load(env)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from e


def _config_options(cfg: QuoteflowConfig) -> dict[str, Any]:
    from quoteflow.products.motor.pricing import PricingConfig
    from quoteflow.training import severity_pipeline

    p = cfg.pricing
    return {"severity_settings": severity_pipeline.from_config(cfg),
            "pricing_config": PricingConfig(p.currency, p.base_year, p.expense_loading,
                                            p.profit_loading, p.minimum_premium,
                                            p.minor_unit),
            "quote_validity_days": p.quote_validity_days}


def _train_options(env: str | None, policies: Path | None, claims: Path | None,
                   cpi: Path | None, pricing: Path | None, claims_threshold: float | None
                   ) -> tuple[tuple[Path | None, Path | None, Path | None], dict[str, Any]]:
    """(policies, claims, cpi) and pipeline options from --env or the file options."""
    from quoteflow.training import severity_pipeline

    if env is not None:
        given = [o for o, v in (("--policies", policies), ("--claims", claims), ("--cpi", cpi),
                                ("--pricing", pricing), ("--claims-threshold",
                                                         claims_threshold)) if v is not None]
        if given:
            raise click.UsageError(f"--env takes the data from the configuration; drop "
                                   f"{', '.join(given)}")
        cfg = _load_config(env)
        d = cfg.training.data
        return (d.policies, d.claims, d.cpi), _config_options(cfg)
    if claims is None and claims_threshold is not None:
        raise click.UsageError("--claims-threshold is the threshold of a --claims file; the "
                               "shipped claims' threshold is in data/config/base.yaml")
    options: dict[str, Any] = {}
    if claims is not None and claims_threshold:
        base = severity_pipeline.default_settings(True)
        options["severity_settings"] = severity_pipeline.SeveritySettings(
            claims_threshold, base.families, base.splice, base.posterior, base.abc_samples,
            base.abc_acceptance)
    return (policies, claims, cpi), options


@click.command("validate-config", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env", "env", help="environment file to merge over base.yaml (dev, prod); "
              "none: base.yaml alone")
def validate_config(env: str | None) -> None:
    """Print the merged training and pricing configuration, or every error with its key."""
    import yaml

    cfg = _load_config(env)
    click.echo(yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False).rstrip())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--product", type=click.Choice(products.names()), default="motor",
              show_default=True, help="which product's models to train (claims: on generated "
              "claims; the data options below are motor's)")
@click.option("--mlflow", "mlflow_uri", envvar="MLFLOW_TRACKING_URI", metavar="URI",
              help="also log each new version as an MLflow run and model version "
                   "[env MLFLOW_TRACKING_URI]")
@registry_option
@click.option("--policies", type=FILE,
              help="policies CSV/Parquet (schema: quoteflow.training.schema); "
                   "default: the shipped freMTPLmini")
@click.option("--claims", type=FILE,
              help="claims CSV/Parquet with accident_date (or accident_year) and amount; "
                   "default: the Danish fire losses")
@click.option("--cpi", type=FILE, help="CPI table CSV (year,index); default: the shipped one")
@click.option("--pricing", type=FILE,
              help="pricing config YAML; default: the shipped data/pricing.yaml")
@click.option("--base-year", type=int, help="index claims to this year's prices "
              "(default: base_year of the pricing config)")
@click.option("--missing-index", type=click.Choice(["error", "nearest"]), default="error",
              show_default=True,
              help="an accident year missing from the CPI table is an error, or takes the "
                   "nearest year's index")
@click.option("--seed", type=int, default=42, show_default=True,
              help="seeds the train/test split and the gradient boosting")
@click.option("--name", default="motor", show_default=True, help="registered model name")
# Only Staging: the scheduled job calls this and must never be able to reach Production.
@click.option("--stage", type=click.Choice(["Staging"]),
              help="also move both new versions to Staging (never Production: promote "
                   "with `quoteflow models promote`)")
@click.option("--actor", envvar="USER", default="quoteflow-train", show_default="$USER",
              help="who the Staging move is recorded as")
@click.option("--claims-threshold", type=float,
              help="reporting threshold of --claims (base-year prices): fits become "
                   "left-truncated there and a spliced Pareto tail is tried")
@click.option("--env", "env",
              help="take data, seed, name, severity and pricing from data/config/base.yaml "
                   "merged with ENV.yaml (see `quoteflow validate-config`); the file options "
                   "above then are not allowed")
def train(product: str, mlflow_uri: str | None, registry_dir: Path, policies: Path | None,
          claims: Path | None, cpi: Path | None, pricing: Path | None, base_year: int | None,
          missing_index: str, seed: int, name: str,
          stage: str | None, actor: str, claims_threshold: float | None,
          env: str | None) -> None:
    """Train the Poisson GLM and the gradient-boosted model and register both.

    With no file options it trains on the shipped real data: freMTPLmini (25,000
    French motor policies) for frequency and the Danish fire losses for severity.
    Two new versions of NAME are registered, the GLM first, each with its training
    report (report.md) and Q-Q plots beside model.onnx.
    --product claims: claim triage's two models, on generated claims. --mlflow: MLflow runs.
    """
    _check_mlflow(mlflow_uri)
    if product != "motor":
        _train_product(product, registry_dir, seed, None if name == "motor" else name,
                       stage == "Staging", actor, mlflow_uri,
                       motor_options=(policies, claims, cpi, pricing, base_year))
        return
    from tqdm import tqdm

    from quoteflow.products.motor.pricing import PricingConfigError
    from quoteflow.training import pipeline
    from quoteflow.training.inflation import IndexingError
    from quoteflow.training.schema import DataError

    files, options = _train_options(env, policies, claims, cpi, pricing, claims_threshold)
    if env is not None:
        cfg = _load_config(env).training
        seed, name, missing_index = cfg.seed, cfg.name, cfg.data.missing_index
    policies, claims, cpi = files
    started = time.monotonic()
    with tqdm(total=len(pipeline.STEPS), unit="step", desc="train", leave=False) as bar:
        first = [True]

        def progress(step: str) -> None:
            # a new step starting means the previous one finished
            if not first[0]:
                bar.update(1)
            first[0] = False
            bar.set_postfix_str(step)

        try:
            versions = pipeline.train_and_register(
                registry_dir, policies=policies, claims=claims, cpi=cpi, pricing=pricing,
                seed=seed, name=name, missing_index=missing_index,  # type: ignore[arg-type]
                base_year=base_year, to_staging=stage == "Staging", actor=actor,
                progress=progress, **options)
        except (DataError, IndexingError, PricingConfigError, RegistryError,
                FileNotFoundError, pipeline.ParityError, ValueError) as e:
            raise click.ClickException(str(e)) from e
        bar.update(bar.total - bar.n)
    td = versions[0].metadata["training_data"]
    reasons = ", ".join(f"{k} {v}" for k, v in td["outside_domain_by_reason"].items())
    click.echo(f"policies: {td['policies_read']:,} read, {td['policies_outside_domain']:,} "
               f"outside the rating domain and not used{f' ({reasons})' if reasons else ''}; "
               f"claims: {td['claims']:,}")
    for mv in versions:
        m, sev = mv.metadata["metrics"], mv.metadata["severity"]
        click.echo(f"registered {mv.name}:{mv.version} {mv.metadata['model_type']:<22} "
                   f"test deviance {m['poisson_deviance_test']:.5f}  severity "
                   f"{sev.get('label', sev['family'])} mean "
                   f"{mv.metadata['severity']['mean']:,.0f} {mv.metadata['pricing']['currency']}"
                   f"  stage {'Staging' if stage else 'None'}")
        click.echo(f"  report: {mv.path / 'report.md'}")
    _log_to_mlflow(mlflow_uri, versions)
    click.echo(f"done in {time.monotonic() - started:.1f} s")


def _check_mlflow(uri: str | None) -> None:
    if not uri:
        return
    from quoteflow.training.tracking import TrackingError, check_reachable

    try:
        check_reachable(uri)
    except TrackingError as e:
        raise click.ClickException(str(e)) from e


def _log_to_mlflow(uri: str | None, versions: list[Any]) -> None:
    if not uri:
        return
    from quoteflow.training import tracking

    for run in tracking.log_versions(uri, versions):
        click.echo(f"mlflow {uri}: version {run.registry_version} is run {run.run_id}, "
                   f"MLflow model version {run.model_version}")


def _train_product(product: str, registry_dir: Path, seed: int, name: str | None,
                   to_staging: bool, actor: str, mlflow_uri: str | None,
                   motor_options: tuple[Any, ...]) -> None:
    """A product package's own training (products.<name>.PRODUCT.train_and_register)."""
    import importlib

    if any(v is not None for v in motor_options):
        raise click.UsageError("--policies, --claims, --cpi, --pricing and --base-year "
                               "are motor's data options")
    started = time.monotonic()
    p = importlib.import_module(f"quoteflow.products.{product}").PRODUCT
    options = {"seed": seed, "to_staging": to_staging, "actor": actor}
    try:
        versions = p.train_and_register(registry_dir, **options, **({"name": name} if name
                                                                     else {}))
    except (RegistryError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    for mv in versions:
        click.echo(f"registered {mv.name}:{mv.version} {mv.metadata.get('model_type', ''):<22} "
                   f"stage {'Staging' if to_staging else 'None'}")
        click.echo(f"  report: {mv.path / 'report.md'}")
    _log_to_mlflow(mlflow_uri, versions)
    click.echo(f"done in {time.monotonic() - started:.1f} s")
