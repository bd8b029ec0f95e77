"""`quoteflow up`: the whole platform on this machine, every product, no cluster needed."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from quoteflow import products
from quoteflow.cli_options import ensure_admin_token, registry_option, write_router_urls
from quoteflow.local.stack import SERVICES, Stack, StackConfig, service_kind, settings_prefix
from quoteflow.local.supervisor import Supervisor
from quoteflow.registry import Registry

if TYPE_CHECKING:
    from quoteflow.local.desk import DeskRunner

# Each product's stack takes four consecutive ports: router, preprocess, blue, green.
PORTS_PER_STACK = 4


def pick_versions(registry: Registry, name: str) -> tuple[str, str | None]:
    """Blue: the Production version (else the oldest); Green: the newest other version."""
    versions = registry.versions(name)
    production = registry.in_stage(name, "Production")
    blue = max(production, key=int) if production else versions[0]
    others = [v for v in versions if v != blue and registry.stage_of(name, v) != "Archived"]
    return blue, (max(others, key=int) if others else None)


def ensure_models(registry_dir: Path, name: str) -> None:
    """Train the product's example models when the registry has none (the registry
    names a product's model after the product)."""
    if Registry(registry_dir).versions(name):
        return
    click.echo(f"registry {registry_dir} has no {name} model: training its example models "
               "(once)")
    products.get(name).train_and_register(registry_dir)


def parse_pins(pins: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """``MODEL:VERSION`` options into {model: [versions]}; BadParameter naming a bad one."""
    out: dict[str, tuple[str, ...]] = {}
    for pin in pins:
        model, _, version = pin.partition(":")
        if model not in products.names() or not version:
            raise click.BadParameter(f"{pin!r}: expected MODEL:VERSION with MODEL one of "
                                     f"{', '.join(products.names())}", param_hint="--pin")
        out[model] = (*out.get(model, ()), version)
    return out


def service_env(pinned: tuple[str, ...], otlp_endpoint: str | None) -> dict[str, dict[str, str]]:
    """Per process: the versions both inference colors also load (a scheduled tariff's,
    which a router asks for by name), and where every process sends its spans."""
    env: dict[str, dict[str, str]] = {s: {} for s in SERVICES}
    for service in SERVICES:
        prefix = settings_prefix(service)
        if pinned and service_kind(service) == "inference":
            env[service][prefix + "EXTRA_VERSIONS"] = json.dumps(list(pinned))
        if otlp_endpoint:
            env[service][prefix + "TRACING__OTLP_ENDPOINT"] = otlp_endpoint
    return {s: e for s, e in env.items() if e}


def product_stack(registry_dir: Path, workdir: Path, name: str, port: int,
                  green_weight: float, shadow: bool, token: str, pinned: tuple[str, ...] = (),
                  otlp_endpoint: str | None = None) -> Stack:
    """One product's stack: its own ports and log folder, its section of the shared
    policy file. ``pinned``: versions both colors also load (scheduled tariffs')."""
    registry = Registry(registry_dir)
    blue, green = pick_versions(registry, name)
    unknown = [v for v in pinned if v not in registry.versions(name)]
    if unknown:
        raise click.BadParameter(f"{name}:{', '.join(unknown)} not in {registry_dir} (it "
                                 f"has {', '.join(registry.versions(name))})",
                                 param_hint="--pin")
    ports = dict(zip(("router", "preprocess", "inference-blue", "inference-green"),
                     range(port, port + PORTS_PER_STACK), strict=True))
    config = StackConfig(registry_dir=registry_dir.resolve(), workdir=(workdir / name).resolve(),
                         blue_version=blue, green_version=green, model_name=name,
                         green_weight=green_weight if green else 0,
                         shadow=shadow and green is not None, admin_token=token, ports=ports,
                         shared_policy_file=(workdir / "policy.yaml").resolve(),
                         env=service_env(pinned, otlp_endpoint))
    return Stack(config)


def announce(stack: Stack) -> None:
    """The router's URL and a call that works, from the product's own example."""
    c = stack.config
    url = c.url("router")
    product = products.get(stack.product)
    example = product.request_model.model_json_schema()["examples"][0]
    body = json.dumps({k: v for k, v in example.items() if k != "quote_date"})
    click.echo(f"\n{c.model_name}: {url}  (API docs: {url}/docs)")
    click.echo(f"  curl -s {url}{product.public_path} -H 'content-type: application/json'"
               f" -d '{body}'")
    click.echo(f"  traffic policy: {url}/admin/traffic  "
               f"(quoteflow traffic show --model {c.model_name})")


def start_all(stacks: list[Stack]) -> None:
    started: list[Stack] = []
    try:
        for st in stacks:
            c = st.config
            click.echo(f"starting {c.model_name}: blue v{c.blue_version}, green "
                       f"{f'v{c.green_version}' if c.green_version else 'none'} "
                       f"(logs in {c.workdir})")
            st.start()
            started.append(st)
    except BaseException:
        for st in started:
            st.stop()
        raise


@click.command()
@registry_option
@click.option("--workdir", default="var/run", show_default=True, type=click.Path(path_type=Path),
              help="policy file, logs and admin token live here")
@click.option("--model", "model_names", multiple=True,
              type=click.Choice(products.names()),
              help="the products to run (repeat) [default: every product]")
@click.option("--port", default=8000, show_default=True,
              help=f"first product's router port; each product takes {PORTS_PER_STACK} "
                   "consecutive ports from here")
@click.option("--green-weight", default=0.0, show_default=True,
              help="percent of live traffic to Green at start")
@click.option("--shadow/--no-shadow", default=True, show_default=True,
              help="answer every request on the other color too and compare")
@click.option("--prometheus", "with_prometheus", is_flag=True,
              help="also run a local Prometheus scraping every process, with our rules")
@click.option("--desk/--no-desk", "with_desk", default=True, show_default=True,
              help="also run the claims desk web app beside the claim-triage router")
@click.option("--pin", "pins", multiple=True, metavar="MODEL:VERSION",
              help="a version both inference colors of MODEL also load, so a tariff "
                   "scheduled on it can price (repeat)")
@click.option("--otlp-endpoint", default=None, metavar="URL",
              help="send every process's spans to this OTLP/HTTP collector "
                   "(http://127.0.0.1:4318/v1/traces)")
def up(registry_dir: Path, workdir: Path, model_names: tuple[str, ...], port: int,
       green_weight: float, shadow: bool, with_prometheus: bool, with_desk: bool,
       pins: tuple[str, ...], otlp_endpoint: str | None) -> None:
    """Run every product's preprocess, inference-blue, inference-green and router on
    127.0.0.1 (motor pricing on --port.., claim triage on the next four ports).

    Trains a product's example models first if the registry has none. A process that
    exits is restarted with back-off while the others keep serving
    (local/supervisor.py). Ctrl-C or SIGTERM stops every process cleanly.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    names = list(model_names) or products.names()
    for name in names:
        ensure_models(registry_dir, name)
    token, token_where = ensure_admin_token(workdir)
    pinned = parse_pins(pins)
    stacks = [product_stack(registry_dir, workdir, name, port + PORTS_PER_STACK * i,
                            green_weight, shadow, token, pinned.get(name, ()), otlp_endpoint)
              for i, name in enumerate(names)]
    for st in stacks:
        st.write_policy()  # a fresh section naming the versions picked above
    write_router_urls(workdir, {st.config.model_name: st.config.url("router")
                                for st in stacks})
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    prom = None
    start_all(stacks)
    desk = start_desk(stacks, workdir, port + PORTS_PER_STACK * len(stacks)) if with_desk \
        else None
    try:
        if with_prometheus:
            from quoteflow.observability.prometheus import start_prometheus

            prom = start_prometheus([t for st in stacks for t in st.prometheus_targets()],
                                    workdir / "prometheus")
        click.echo("\nquoteflow is up:")
        for st in stacks:
            announce(st)
        if desk is not None:
            announce_desk(desk)
        click.echo(f"\n  admin token: {token_where}")
        if prom is not None:
            click.echo(f"  prometheus: {prom.url}")
        click.echo("Ctrl-C stops everything.")
        supervisors = [Supervisor(st, _prefixed(st.config.model_name)) for st in stacks]
        if desk is not None:
            supervisors.append(Supervisor(desk, _prefixed("desk")))
        while not stop.wait(0.2):
            for supervisor in supervisors:
                supervisor.poll()
    finally:
        click.echo("stopping...")
        if prom is not None:
            prom.stop()
        if desk is not None:
            desk.stop()
        for st in stacks:
            st.stop()
        click.echo("stopped.")


def start_desk(stacks: list[Stack], workdir: Path, port: int) -> DeskRunner | None:
    """The claims desk beside the router of the product it calls, if that runs; its
    dev accounts are made on first start."""
    try:
        from quoteflow.desk import PRODUCT
        from quoteflow.local.desk import DeskRunner
    except ImportError as e:  # the desk extra is not installed
        click.echo(f"claims desk not started: {e}", err=True)
        return None
    router = next((st for st in stacks if st.product == PRODUCT), None)
    if router is None:
        return None
    desk = DeskRunner(workdir / "desk", port, router.config.url("router"))
    desk.first_users()
    click.echo(f"starting the claims desk (logs in {desk.workdir})")
    desk.start()
    return desk


def announce_desk(desk: DeskRunner) -> None:
    click.echo(f"\nclaims desk: {desk.url}  (users in {desk.users_file})")
    for u in desk.first_users():
        click.echo(f"  {u['role']:8s} {u['username']} / {u['password']}")


def _prefixed(model: str) -> Callable[[str], None]:
    """Supervisor messages say which product's process they are about."""
    return lambda msg: click.echo(f"[{model}] {msg}", err=True)
