"""`quoteflow train`: train a product's models and register them; `validate-config`.

The platform's command knows no product: it owns the options every product shares
(registry, seed, name, stage, actor, MLflow) and dispatches through ``products.get``. A
product with data options of its own names a module (``Product.training_cli``) holding
``OPTIONS`` (click options, added here), ``NAMES`` (their parameter names), ``run`` and
``summary``, and optionally ``validate_config``; without one, its
``train_and_register`` is called with the shared options.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import click

from quoteflow import products
from quoteflow.cli_options import actor_option, registry_option
from quoteflow.registry import RegistryError


def _product_cli(name: str) -> ModuleType | None:
    module = products.get(name).training_cli
    return importlib.import_module(module) if module else None


def _with_product_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for name in products.names():
        mod = _product_cli(name)
        for option in reversed(mod.OPTIONS if mod else []):
            f = option(f)
    return f


@click.command("validate-config", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--product", type=click.Choice(products.names()), default=products.names()[0],
              show_default=True, help="whose configuration")
@click.option("--env", "env", help="environment file to merge over base.yaml (dev, prod); "
              "none: base.yaml alone")
def validate_config(product: str, env: str | None) -> None:
    """Print the merged training and pricing configuration, or every error with its key."""
    mod = _product_cli(product)
    if mod is None or not hasattr(mod, "validate_config"):
        raise click.UsageError(f"{product} has no per-environment configuration")
    click.echo(mod.validate_config(env))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--product", type=click.Choice(products.names()), default=products.names()[0],
              show_default=True, help="which product's models to train; the options marked "
              "[PRODUCT] below are that product's")
@click.option("--mlflow", "mlflow_uri", envvar="MLFLOW_TRACKING_URI", metavar="URI",
              help="also log each new version as an MLflow run and model version "
                   "[env MLFLOW_TRACKING_URI]")
@registry_option
@click.option("--seed", type=int, default=42, show_default=True,
              help="seeds the train/test split and the models")
@click.option("--name", help="registered model name [default: the product's name]")
# Only Staging: the scheduled job calls this and must never be able to reach Production.
@click.option("--stage", type=click.Choice(["Staging"]),
              help="also move the new versions to Staging (never Production: promote "
                   "with `quoteflow models promote`)")
@actor_option("who the Staging move is recorded as")
@_with_product_options
def train(product: str, mlflow_uri: str | None, registry_dir: Path, seed: int,
          name: str | None, stage: str | None, actor: str, **product_options: Any) -> None:
    """Train a product's models on its shipped data and register them.

    Each new version is registered with its training report (report.md) and plots
    beside model.onnx. --mlflow: MLflow runs too.
    """
    _check_mlflow(mlflow_uri)
    mod = _product_cli(product)
    own = set(mod.NAMES) if mod else set()
    foreign = [k for k, v in product_options.items()
               if k not in own and v is not None and not _is_default(k, v)]
    if foreign:
        raise click.UsageError(f"{', '.join('--' + k.replace('_', '-') for k in foreign)}: "
                               f"not options of {product}")
    common = {"registry_dir": registry_dir, "seed": seed, "name": name,
              "to_staging": stage == "Staging", "actor": actor}
    started = time.monotonic()
    if mod is None:
        versions = _train_plain(product, common)
        lines = [f"registered {mv.name}:{mv.version} "
                 f"{mv.metadata.get('model_type', ''):<22}" for mv in versions]
    else:
        versions = _train_with_progress(mod, common,
                                        {k: v for k, v in product_options.items() if k in own})
        lines = mod.summary(versions)
    for line in lines:
        click.echo(line)
    for mv in versions:
        click.echo(f"  {mv.name}:{mv.version} stage {'Staging' if stage else 'None'}; "
                   f"report: {mv.path / 'report.md'}")
    _log_to_mlflow(mlflow_uri, versions)
    click.echo(f"done in {time.monotonic() - started:.1f} s")


def _is_default(key: str, value: Any) -> bool:
    param = next((p for p in train.params if p.name == key), None)
    return param is not None and value == param.default


def _train_plain(product: str, common: dict[str, Any]) -> list[Any]:
    options = {k: v for k, v in common.items() if k != "name" and k != "registry_dir"}
    if common["name"]:
        options["name"] = common["name"]
    try:
        return products.get(product).train_and_register(common["registry_dir"], **options)
    except (RegistryError, ValueError) as e:
        raise click.ClickException(str(e)) from e


def _train_with_progress(mod: ModuleType, common: dict[str, Any],
                         options: dict[str, Any]) -> list[Any]:
    from tqdm import tqdm

    with tqdm(unit="step", desc="train", leave=False) as bar:
        def progress(step: str) -> None:
            bar.update(1)
            bar.set_postfix_str(step)

        trained: list[Any] = mod.run(common, progress, **options)  # training_cli's contract
        return trained


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
