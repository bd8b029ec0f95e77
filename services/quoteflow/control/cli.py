"""`quoteflow traffic`: show and change the traffic policy, locally or in a cluster."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from quoteflow.cli_options import (
    actor_option,
    model_option,
    read_admin_token,
    read_router_urls,
    router_option,
    token_file_option,
)
from quoteflow.control.targets import (
    Applied,
    ClusterTarget,
    ControlError,
    LocalTarget,
    PolicyTarget,
    apply_change,
)
from quoteflow.control.views import history_lines, schedule_lines
from quoteflow.traffic.document import ALL_MODELS
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import Policy, PolicyError, Tariff, effective_instant


def target_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Which model's policy, and where it lives: local routers (default) or a cluster."""
    options = [
        model_option(help="the model whose section of the traffic policy to use"),
        router_option,
        token_file_option,
        click.option("--kube", is_flag=True,
                     help="change the policy ConfigMap through the Kubernetes API "
                          "(current kubeconfig or in-cluster config)"),
        click.option("--namespace", default="default", show_default=True),
        click.option("--configmap", default="quoteflow-traffic-policy", show_default=True,
                     help="the chart names it <release>-traffic-policy"),
        click.option("--key", default="policy.yaml", show_default=True),
        click.option("--selector", default="app.kubernetes.io/component=router",
                     show_default=True, help="label selector of the router pods"),
        click.option("--timeout", default=10.0, show_default=True,
                     help="seconds to wait for every router to run the new policy"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def make_target(kw: dict[str, Any], allow_all: bool = False) -> PolicyTarget:
    """The target of ``kw``'s model (``all``: of the first model, when allowed; the
    caller goes through ``models()``)."""
    model = kw.pop("model_name")
    if model == ALL_MODELS and not allow_all:
        raise ControlError(f"--model {ALL_MODELS} is for the kill switch only; name a model")
    if kw.pop("kube"):
        return ClusterTarget(kw["namespace"], kw["configmap"], kw["key"], kw["selector"],
                             model=model)
    return LocalTarget(list(kw["routers"]) or read_router_urls(),
                       read_admin_token(kw["token_file"]), model)


def report(applied: Applied, model: str) -> None:
    p = applied.policy
    click.echo(f"{model}: generation {applied.generation}: green {p.green_weight:g}%, shadow "
               f"{'on' if p.shadow.enabled else 'off'}; all {len(applied.replicas)} router(s) "
               f"run it after {applied.seconds_to_converge * 1000:.0f} ms")


def change_command(f: Callable[..., Callable[[Policy], Policy]]) -> Callable[..., None]:
    """Wrap a command that returns a policy change: apply it with who and why (kept in
    the policy's history), wait, report, exit 1 on error."""

    @target_options
    @actor_option()
    @click.option("--reason", default="", help="why (kept in the policy's history)")
    @functools.wraps(f)
    def wrapper(**kw: Any) -> None:
        why = dict(actor=kw.pop("actor"), reason=kw.pop("reason"),
                   change=_CHANGE_NAMES.get(f.__name__, f.__name__))
        own = {k: kw.pop(k) for k in list(kw) if k not in _TARGET_KEYS}
        timeout = kw.pop("timeout")
        every = kw["model_name"] == ALL_MODELS and getattr(f, "all_models", False)
        try:
            change = f(**own)
            target = make_target(kw, allow_all=every)
            targets = ([target.for_model(m) for m in target.models()] if every else [target])
            for t in targets:
                report(apply_change(t, change, timeout, Change(**why)), t.model)
        except (ControlError, PolicyError, ValueError) as e:
            raise click.ClickException(str(e)) from e

    return wrapper


_TARGET_KEYS = {"model_name", "routers", "token_file", "kube", "namespace", "configmap", "key",
                "selector", "timeout"}
_CHANGE_NAMES = {"set_weight": "set", "_kill": "kill"}


@click.group()
def traffic() -> None:
    """Show or change the traffic policy (weights, shadow, kill switch)."""


@traffic.command()
@target_options
def show(**kw: Any) -> None:
    """Print the running policy and each router's generation."""
    kw.pop("timeout")
    try:
        target = make_target(kw)
        policy, _ = target.read()
        gens = target.generations()
    except (ControlError, PolicyError) as e:
        raise click.ClickException(str(e)) from e
    doc = policy.document()
    click.echo(f"model:  {target.model}")
    click.echo(f"blue:   version {doc['blue']['version']}")
    click.echo(f"green:  version {doc.get('green', {}).get('version', '-')}, "
               f"{policy.green_weight:g}% of live traffic")
    click.echo(f"shadow: {'on' if policy.shadow.enabled else 'off'} "
               f"(sample {policy.shadow.sample:g})")
    for line in schedule_lines(policy):
        click.echo(line)
    for name, g in gens.items():
        click.echo(f"router {name}: generation {g}")


@traffic.command("set")
@click.option("--green", "green", type=float, required=True, help="percent of live traffic")
@change_command
def set_weight(green: float) -> Callable[[Policy], Policy]:
    """Set Green's share of live traffic (0..100)."""
    return lambda p: p.with_traffic(green_weight=green, source="traffic set")


@traffic.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@click.option("--sample", type=float, default=None, help="share of quotes shadowed (0..1)")
@change_command
def shadow(state: str, sample: float | None) -> Callable[[Policy], Policy]:
    """Turn shadow comparison on or off."""
    return lambda p: p.with_traffic(shadow=state == "on", sample=sample,
                                    source="traffic shadow")


def _kill() -> Callable[[Policy], Policy]:
    """Kill switch: Green to 0 and shadow off, on every router of the model
    (`--model all`: of every model in the policy)."""
    return Policy.killed


_kill.all_models = True  # type: ignore[attr-defined]  # a flag change_command reads
kill = traffic.command("kill")(change_command(_kill))


@traffic.command()
@click.option("--effective", required=True, help="the instant covers starting from it get "
              "this tariff: a date (its midnight UTC) or an ISO instant with its zone")
@click.option("--blue", required=True, help="the tariff's Blue model version")
@click.option("--green", default=None, help="its Green version (a rollout within the tariff)")
@click.option("--green-weight", type=float, default=0.0, show_default=True,
              help="percent of the tariff's live traffic to Green")
@click.option("--shadow/--no-shadow", default=False, show_default=True)
@click.option("--sample", type=float, default=1.0, show_default=True)
@change_command
def schedule(effective: str, blue: str, green: str | None, green_weight: float, shadow: bool,
             sample: float) -> Callable[[Policy], Policy]:
    """Schedule a tariff: quotes for covers starting at or after --effective are priced
    by it (already before the instant); replaces a tariff at the same instant."""
    doc: dict[str, Any] = {"effective": effective, "blue": {"version": blue},
                           "green_weight": green_weight,
                           "shadow": {"enabled": shadow, "sample": sample}}
    if green is not None:
        doc["green"] = {"version": green}
    tariff = Tariff.model_validate(doc)
    return lambda p: p.scheduled(tariff)


@traffic.command()
@click.option("--effective", required=True, help="the instant of the tariff to take off")
@change_command
def unschedule(effective: str) -> Callable[[Policy], Policy]:
    """Take a scheduled tariff off the schedule."""
    instant = effective_instant(effective)
    return lambda p: p.unscheduled(instant)


@traffic.command()
@target_options
@click.option("--json", "as_json", is_flag=True, help="one JSON object per change")
@click.option("--limit", type=int, default=50, show_default=True, help="the newest N (0: all)")
def history(as_json: bool, limit: int, **kw: Any) -> None:
    """Who changed the model's traffic policy, when, why, and to what (newest last)."""
    kw.pop("timeout")
    try:
        target = make_target(kw)
        entries = target.history()
    except (ControlError, PolicyError) as e:
        raise click.ClickException(str(e)) from e
    for line in history_lines(entries[-limit:] if limit else entries, as_json):
        click.echo(line)
