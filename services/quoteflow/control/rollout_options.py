"""The options of `quoteflow rollout`'s commands, and their parsing: durations, shadow
gate shares, the outcome gates' sources (and which were given on the command line, so
that `resume` knows what to take from the saved state)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from quoteflow.cli_options import (
    Decorator,
    actor_option,
    desk_option,
    ledger_option,
    prometheus_option,
    registry_option,
)
from quoteflow.control.cli import target_options
from quoteflow.control.conversion import ConversionRule
from quoteflow.control.outcome_gates import OutcomeSources

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
        click.option("--no-outcome-gate/--outcome-gate", "skip_outcomes", default=False,
                     help="judge no business outcome (a stack without customers or "
                          "reviewers); the evidence says it was not judged. Saved with "
                          "the rollout: `resume --outcome-gate` turns it back on"),
    ]
    for option in reversed(options):
        f = option(f)
    return target_options(f)


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


def parse_shares(given: tuple[str, ...]) -> dict[str, float]:
    """``MEASURE=SHARE`` options as {measure: share}, each share in [0, 1]."""
    out: dict[str, float] = {}
    for text in given:
        name, _, value = text.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not name.strip() or not 0 <= share <= 1:
            raise click.BadParameter(f"{text!r}: give MEASURE=SHARE with a share in [0, 1], "
                                     "e.g. probability_shift=0.3",
                                     param_hint="--shadow-max-share")
        out[name.strip()] = share
    return out
