"""`quoteflow train`: train the frequency models, price them, register two versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from quoteflow.registry import RegistryError

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--product", type=click.Choice(["motor", "claims"]), default="motor",
              show_default=True, help="which product's models to train (claims: on generated "
              "claims; the data options below are motor's)")
@click.option("--mlflow", "mlflow_uri", envvar="MLFLOW_TRACKING_URI", metavar="URI",
              help="also log each new version as an MLflow run and model version "
                   "[env MLFLOW_TRACKING_URI]")
@click.option("--registry", "registry_dir", envvar="QUOTEFLOW_REGISTRY_DIR",
              default="var/registry", show_default=True, type=click.Path(path_type=Path),
              help="model registry directory [env QUOTEFLOW_REGISTRY_DIR]")
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
def train(product: str, mlflow_uri: str | None, registry_dir: Path, policies: Path | None,
          claims: Path | None, cpi: Path | None, pricing: Path | None, base_year: int | None,
          missing_index: str, seed: int, name: str, stage: str | None, actor: str) -> None:
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

    from quoteflow.training import pipeline
    from quoteflow.training.inflation import IndexingError
    from quoteflow.training.pricing import PricingConfigError
    from quoteflow.training.schema import DataError

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
                progress=progress)
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
        m = mv.metadata["metrics"]
        click.echo(f"registered {mv.name}:{mv.version} {mv.metadata['model_type']:<22} "
                   f"test deviance {m['poisson_deviance_test']:.5f}  severity "
                   f"{mv.metadata['severity']['family']} mean "
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
