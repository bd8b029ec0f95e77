"""`quoteflow rollout`: start, watch, confirm, resume or abort a progressive rollout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click

from quoteflow.cli_options import (
    DEFAULT_WORKDIR,
    Decorator,
    actor_option,
    desk_option,
    ledger_option,
    prometheus_option,
    registry_option,
)
from quoteflow.control.analysis import Gates, prometheus_query
from quoteflow.control.cli import make_target, target_options
from quoteflow.control.conversion import ConversionRule
from quoteflow.control.outcome_gates import OPTION_NAMES, OutcomeSources
from quoteflow.control.rollout import (
    RolloutError,
    RolloutRunner,
    describe,
    new_rollout,
    request_abort,
)
from quoteflow.control.rollout_state import ConfigMapState, FileState, RolloutState, StateStore
from quoteflow.control.targets import ClusterTarget, ControlError
from quoteflow.registry import Registry, RegistryError
from quoteflow.traffic.policy import LEGACY_MODEL, PolicyError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")


def parse_duration(text: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration like 500ms, 60s, 5m")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2) or "s"]
    return float(m.group(1)) * scale


def rollout_options(f: Any) -> Any:
    options: list[Decorator] = [
        registry_option,
        prometheus_option,
        click.option("--state", "state_file", default=None, type=click.Path(path_type=Path),
                     help="local mode: where the rollout state is kept [default: "
                          "var/run/rollout.json for motor, var/run/rollout-MODEL.json else]"),
        actor_option("who runs the rollout (recorded with each registry move)"),
        click.option("--hold-timeout", type=str, default=None,
                     help="stop waiting (state kept) after holding this long, e.g. 10m"),
        ledger_option,
        desk_option,
        click.option("--conversion-margin", type=float, default=0.05, show_default=True,
                     help="motor: fail when Green converts worse than Blue by more than "
                          "this share of Blue's conversion"),
        click.option("--conversion-horizon", default="24h", show_default=True,
                     help="motor: a quote converts when bound within this of quoting; "
                          "quotes younger than it are not counted yet"),
        click.option("--reviewer-margin", type=float, default=0.02, show_default=True,
                     help="claims: fail when Green's agreement with reviewers (or fraud "
                          "recall) is worse than Blue's by more than this"),
        click.option("--reviewer-min-reviewed", type=click.IntRange(min=1), default=200,
                     show_default=True,
                     help="claims: reviewed claims each color needs before the reviewer "
                          "gate judges (it holds until then)"),
        click.option("--no-outcome-gate", "skip_outcomes", is_flag=True,
                     help="judge no business outcome (a stack without customers or "
                          "reviewers); the evidence says it was not judged"),
    ]
    for option in reversed(options):
        f = option(f)
    return target_options(f)


def state_key(model: str) -> str:
    """Each model's rollout keeps its own state; motor's keeps its original name."""
    return "rollout.json" if model == LEGACY_MODEL else f"rollout-{model}.json"


class Context:
    def __init__(self, kw: dict[str, Any]) -> None:
        self.registry = Registry(kw.pop("registry_dir"))
        self.model = kw["model_name"]
        self.query = prometheus_query(kw.pop("prometheus_url"))
        state_file = kw.pop("state_file") or DEFAULT_WORKDIR / state_key(self.model)
        self.actor = kw.pop("actor")
        hold = kw.pop("hold_timeout")
        self.hold_timeout = parse_duration(hold) if hold else None
        kw.pop("timeout")
        self.explicit = given_options(OPTION_NAMES)
        self.outcomes = outcome_sources(kw)
        self.target = make_target(kw)
        self.store: StateStore = (
            ConfigMapState(self.target.core, self.target.namespace, self.target.configmap,
                           state_key(self.model))
            if isinstance(self.target, ClusterTarget) else FileState(state_file))

    def resume_outcomes(self, state: RolloutState) -> None:
        """The outcome gates as `start` saved them, but for options given again."""
        try:
            self.outcomes = OutcomeSources.resumed(state.outcomes, self.outcomes,
                                                   self.explicit)
        except ValueError as e:
            raise click.UsageError(str(e)) from e

    def runner(self, state: Any) -> RolloutRunner:
        return RolloutRunner(state, self.store, self.target, self.query, self.registry,
                             self.actor, click.echo, self.hold_timeout,
                             outcomes=self.outcomes)


def given_options(names: tuple[str, ...]) -> set[str]:
    """Which of these parameters the command line (or an option's own envvar) set."""
    from click.core import ParameterSource

    ctx = click.get_current_context()
    return {n for n in names if ctx.get_parameter_source(n) in
            (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)}


def outcome_sources(kw: dict[str, Any]) -> OutcomeSources:
    """The outcome gates' sources and rules, popped from the command's options."""
    from quoteflow.desk.outcome_gate import GateRule

    try:
        conversion = ConversionRule(margin=kw.pop("conversion_margin"), horizon_seconds=
                                    parse_duration(kw.pop("conversion_horizon")))
        reviewers = GateRule(margin=kw.pop("reviewer_margin"),
                             min_reviewed=kw.pop("reviewer_min_reviewed"))
    except ValueError as e:
        raise click.BadParameter(str(e)) from e
    return OutcomeSources(kw.pop("ledger_url"), kw.pop("desk_url"), conversion, reviewers,
                          kw.pop("skip_outcomes"))


def _guard(fn: Any) -> Any:
    import functools

    @functools.wraps(fn)
    def wrapper(**kw: Any) -> None:
        try:
            fn(**kw)
        except (RolloutError, ControlError, RegistryError, PolicyError) as e:
            raise click.ClickException(str(e)) from e
    return wrapper


def _exit_for(state: Any) -> None:
    if state.status in ("rolled_back", "aborted"):
        raise SystemExit(3)


@click.group()
def rollout() -> None:
    """Progressive rollout of the Green model with Prometheus gates."""


@rollout.command()
@click.option("--steps", default="1,5,25,50,100", show_default=True,
              help="Green percentages, rising")
@click.option("--interval", default="60s", show_default=True,
              help="observation window per step (and for the shadow phase)")
@click.option("--confirm-each-step", is_flag=True, help="wait for `rollout promote` after each "
              "passed step")
@click.option("--latency-budget", default=0.2, show_default=True, help="seconds, Green p99")
@click.option("--latency-margin", default=0.02, show_default=True,
              help="seconds Green's p99 may exceed Blue's")
@click.option("--error-margin", default=0.001, show_default=True,
              help="how much Green's error ratio may exceed Blue's")
@click.option("--divergence", type=float, default=None,
              help="max share of shadowed answers failing the product's headline shadow "
                   "gate (motor: premium moved by more than 10%, default 0.05; claims: "
                   "decided otherwise, default 0.05)")
@click.option("--min-requests", default=100, show_default=True,
              help="requests needed in a window to judge it")
@click.option("--accept-dislocation", "accept", type=click.Path(path_type=Path),
              help="sign off a recorded dislocation review beyond the product's limits "
                   "(its summary.json, from `quoteflow dislocation`); needs --reason")
@click.option("--reason", help="why the dislocation is accepted (recorded in the audit)")
@rollout_options
@_guard
def start(steps: str, interval: str, confirm_each_step: bool, latency_budget: float,
          latency_margin: float, error_margin: float, divergence: float | None,
          min_requests: int, accept: Path | None, reason: str | None,
          **kw: Any) -> None:
    """Start: shadow first (no live traffic), then each step, judged on its evidence.

    A product with dislocation limits (motor) first needs a recorded dislocation review
    of Blue -> Green within them, or one beyond them signed off with --accept-dislocation.
    Exit status: 0 completed or waiting (confirmation, hold), 3 rolled back or aborted.
    """
    ctx = Context(kw)

    def admit(blue: str, green: str) -> None:
        from quoteflow.dislocation import gate

        verdict = gate.check(ctx.registry, ctx.model, blue, green, accept, reason, ctx.actor)
        if not verdict.allowed:
            raise RolloutError(f"refused: {verdict.message}")
        click.echo(verdict.message)

    try:
        step_list = [float(x) for x in steps.split(",") if x.strip()]
    except ValueError as e:
        raise click.BadParameter(f"--steps {steps!r}: {e}") from e
    gates = Gates(latency_budget, latency_margin, error_margin, divergence, min_requests)
    state = new_rollout(ctx.registry, ctx.target, ctx.store, ctx.model, step_list,
                        parse_duration(interval), gates, confirm_each_step, ctx.actor, admit)
    state.outcomes = ctx.outcomes.saved()  # resume and promote judge as start did
    ctx.store.save(state)
    click.echo(f"rollout {state.id}: {ctx.model} v{state.green_version} (Green) against "
               f"v{state.blue_version} (Blue), steps {steps}")
    _exit_for(ctx.runner(state).run())


@rollout.command()
@rollout_options
@_guard
def status(**kw: Any) -> None:
    """Print the current (or last) rollout, with the outcome gates' options it runs with."""
    ctx = Context(kw)
    state = ctx.store.load()
    if state is None:
        raise click.ClickException("no rollout recorded")
    try:  # what resume would judge with; a password left out is no error here
        gates = OutcomeSources.resumed(state.outcomes, ctx.outcomes, ctx.explicit).saved()
    except ValueError:
        gates = state.outcomes
    click.echo(json.dumps({**describe(state), "outcome_gates": gates}, indent=2))


@rollout.command()
@rollout_options
@_guard
def resume(**kw: Any) -> None:
    """Carry on an interrupted or holding rollout from its recorded step."""
    ctx = Context(kw)
    state = ctx.store.load()
    if state is None or state.finished:
        raise click.ClickException("no rollout to resume")
    if state.status == "awaiting_confirmation":
        raise click.ClickException("the rollout waits for confirmation: `rollout promote`")
    ctx.resume_outcomes(state)
    state.status = "running"
    _exit_for(ctx.runner(state).run())


@rollout.command()
@rollout_options
@_guard
def promote(**kw: Any) -> None:
    """Confirm the next step of a rollout started with --confirm-each-step."""
    ctx = Context(kw)
    state = ctx.store.load()
    if state is None or state.status != "awaiting_confirmation":
        raise click.ClickException("no rollout is waiting for confirmation")
    ctx.resume_outcomes(state)
    state.status = "running"
    state.record(step=state.step_index, weight=state.current_weight,
                 decision=f"confirmed by {ctx.actor}")
    ctx.store.save(state)
    _exit_for(ctx.runner(state).run())


@rollout.command()
@rollout_options
@_guard
def abort(**kw: Any) -> None:
    """Abort: Green to 0 now; a running `rollout` command stops at its next tick."""
    ctx = Context(kw)
    state = request_abort(ctx.store)
    ctx.runner(state).abort(f"aborted by {ctx.actor}")
