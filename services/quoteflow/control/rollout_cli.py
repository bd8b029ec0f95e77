"""`quoteflow rollout`: start, watch, confirm, resume or abort a progressive rollout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from quoteflow.cli_options import DEFAULT_WORKDIR
from quoteflow.control.analysis import Gates, prometheus_query
from quoteflow.control.cli import make_target
from quoteflow.control.outcome_gates import OPTION_NAMES, OutcomeSources
from quoteflow.control.rollout import (
    RolloutError,
    RolloutRunner,
    describe,
    new_rollout,
    request_abort,
)
from quoteflow.control.rollout_options import (
    given_options,
    outcome_sources,
    parse_duration,
    parse_shares,
    rollout_options,
)
from quoteflow.control.rollout_state import ConfigMapState, FileState, RolloutState, StateStore
from quoteflow.control.targets import ClusterTarget, ControlError
from quoteflow.registry import Registry, RegistryError
from quoteflow.traffic.policy import LEGACY_MODEL, PolicyError


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
@click.option("--shadow-max-share", "shadow_shares", multiple=True, metavar="MEASURE=SHARE",
              help="max share of shadowed answers unlike Blue's for one of the product's "
                   "shadow gates (repeat), e.g. probability_shift=0.3 for a retrain "
                   "expected to differ from Blue and judged on its outcome gate instead")
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
          shadow_shares: tuple[str, ...], min_requests: int, accept: Path | None,
          reason: str | None, **kw: Any) -> None:
    """Start: shadow first (no live traffic), then each step, judged on its evidence.

    A product with dislocation limits (motor) first needs a recorded dislocation review
    of Blue -> Green within them, or one beyond them signed off with --accept-dislocation.
    Exit status: 0 completed or waiting (confirmation, hold), 3 rolled back or aborted.
    """
    ctx = Context(kw)

    shares = parse_shares(shadow_shares)

    def admit(blue: str, green: str) -> None:
        from quoteflow import products
        from quoteflow.dislocation import gate

        known = {g.measure for g in products.of_metadata(
            ctx.registry.get(ctx.model, green).metadata).shadow_gates}
        if set(shares) - known:
            raise RolloutError(f"--shadow-max-share: {', '.join(sorted(set(shares) - known))}"
                               f" is not a shadow gate of {ctx.model}: "
                               f"{', '.join(sorted(known))}")
        verdict = gate.check(ctx.registry, ctx.model, blue, green, accept, reason, ctx.actor)
        if not verdict.allowed:
            raise RolloutError(f"refused: {verdict.message}")
        click.echo(verdict.message)

    try:
        step_list = [float(x) for x in steps.split(",") if x.strip()]
    except ValueError as e:
        raise click.BadParameter(f"--steps {steps!r}: {e}") from e
    gates = Gates(latency_budget, latency_margin, error_margin, divergence, min_requests,
                  shares)
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
