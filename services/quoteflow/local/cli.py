"""`quoteflow up`: the whole stack on this machine, no cluster needed."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path

import click

from quoteflow import products
from quoteflow.cli_options import ensure_admin_token, model_option, registry_option
from quoteflow.local.stack import Stack, StackConfig
from quoteflow.local.supervisor import Supervisor
from quoteflow.registry import Registry


def pick_versions(registry: Registry, name: str) -> tuple[str, str | None]:
    """Blue: the Production version (else the oldest); Green: the newest other version."""
    versions = registry.versions(name)
    production = registry.in_stage(name, "Production")
    blue = max(production, key=int) if production else versions[0]
    others = [v for v in versions if v != blue and registry.stage_of(name, v) != "Archived"]
    return blue, (max(others, key=int) if others else None)


def ensure_models(registry_dir: Path, name: str) -> None:
    registry = Registry(registry_dir)
    if registry.versions(name):
        return
    click.echo(f"registry {registry_dir} has no {name} model: training the example models "
               "on the shipped real data (once)")
    from quoteflow.training.pipeline import train_and_register

    train_and_register(registry_dir)


@click.command()
@registry_option
@click.option("--workdir", default="var/run", show_default=True, type=click.Path(path_type=Path),
              help="policy file, logs and admin token live here")
@model_option()
@click.option("--port", default=8000, show_default=True, help="router port; the others follow")
@click.option("--green-weight", default=0.0, show_default=True,
              help="percent of live traffic to Green at start")
@click.option("--shadow/--no-shadow", default=True, show_default=True,
              help="price every quote on the other color too and compare")
@click.option("--prometheus", "with_prometheus", is_flag=True,
              help="also run a local Prometheus scraping all four processes, with our rules")
def up(registry_dir: Path, workdir: Path, model_name: str, port: int, green_weight: float,
       shadow: bool, with_prometheus: bool) -> None:
    """Run preprocess, inference-blue, inference-green and router on 127.0.0.1.

    Trains the example models first if the registry is empty. A process that exits is
    restarted with back-off while the others keep serving (local/supervisor.py).
    Ctrl-C or SIGTERM stops every process cleanly.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    ensure_models(registry_dir, model_name)
    blue, green = pick_versions(Registry(registry_dir), model_name)
    token, token_where = ensure_admin_token(workdir)
    ports = {"router": port, "preprocess": port + 1, "inference-blue": port + 2,
             "inference-green": port + 3}
    config = StackConfig(registry_dir=registry_dir.resolve(), workdir=workdir.resolve(),
                         blue_version=blue, green_version=green, model_name=model_name,
                         green_weight=green_weight if green else 0,
                         shadow=shadow and green is not None, admin_token=token, ports=ports)
    stack = Stack(config)
    stack.write_policy()  # a fresh policy naming the versions picked above
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    prom = None
    click.echo(f"starting: blue = {model_name} v{blue}, green = "
               f"{f'{model_name} v{green}' if green else 'none'} (logs in {workdir})")
    stack.start()
    try:
        if with_prometheus:
            from quoteflow.observability.prometheus import start_prometheus

            prom = start_prometheus(stack.prometheus_targets(), workdir / "prometheus")
        url = config.url("router")
        product = products.of_metadata(Registry(registry_dir).get(model_name, blue).metadata)
        example = product.request_model.model_json_schema()["examples"][0]
        body = json.dumps({k: v for k, v in example.items() if k != "quote_date"})
        click.echo(f"\nquoteflow is up: {url}  (API docs: {url}/docs)")
        click.echo(f"  curl -s {url}{product.public_path} -H 'content-type: application/json'"
                   f" -d '{body}'")
        click.echo(f"  traffic policy: {url}/admin/traffic   admin token: {token_where}")
        if prom is not None:
            click.echo(f"  prometheus: {prom.url}")
        click.echo("Ctrl-C stops everything.")
        supervisor = Supervisor(stack, lambda msg: click.echo(msg, err=True))
        while not stop.wait(0.2):
            supervisor.poll()
    finally:
        click.echo("stopping...")
        if prom is not None:
            prom.stop()
        stack.stop()
        click.echo("stopped.")
