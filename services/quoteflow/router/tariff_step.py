"""The quote path's tariff step: which tariff prices this quote (the one in effect at
its cover start, ``traffic.tariffs``), and what follows from it for the later steps.

- the blue/green split, Green's share and shadow are the tariff's own;
- a scheduled tariff's versions are named to the colors' processes (which pin them:
  inference's extra versions); the current tariff's call is unchanged;
- a quote under a scheduled tariff is keyed with it: the same request re-quoted once
  another tariff is scheduled for its cover start is another quote.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from quoteflow import metrics
from quoteflow.router.quote import Outcome, Quote, Unavailable
from quoteflow.traffic.policy import Color, Policy, PolicyState
from quoteflow.traffic.tariffs import CoverStartError, cover_start_instant, tariff_for

log = logging.getLogger(__name__)
_COUNTED = {"current": metrics.QUOTES_BY_TARIFF.labels("current"),
            "scheduled": metrics.QUOTES_BY_TARIFF.labels("scheduled")}


def choose(q: Quote, state: PolicyState, now: dt.datetime) -> Outcome | None:
    """Set the call's policy snapshot and its tariff; Unavailable if the product's cover
    start cannot be read (its bug, not the caller's: preprocess validated the request)."""
    q.policy, q.generation = state.policy, state.generation
    try:
        start = cover_start_instant(q.feats.get("cover_start"), now)
    except CoverStartError as e:
        log.warning("quote not priced: unreadable cover start", extra={"error": str(e)})
        return Unavailable(f"service temporarily unavailable ({e}); retry shortly")
    q.tariff = tariff_for(state.policy, start)
    _COUNTED["current" if q.tariff.effective is None else "scheduled"].inc()
    return None


def export(policy: Policy) -> None:
    """The schedule as gauges (the dashboard's): replaced whole on each policy change."""
    metrics.TARIFFS_SCHEDULED.set(len(policy.tariffs))
    metrics.TARIFF_EFFECTIVE.clear()
    for t in policy.tariffs:
        metrics.TARIFF_EFFECTIVE.labels(t.blue.version).set(t.effective.timestamp())


def scheduled_version(q: Quote, color: Color) -> str | None:
    """The version to name to ``color``'s process: a scheduled tariff's, else None."""
    if q.tariff is None or q.tariff.effective is None:
        return None
    return q.tariff.split.version_of(color)


def key_context(q: Quote) -> dict[str, Any]:
    """What keys a re-quote besides the request: preprocess's context, and the tariff
    when a scheduled one prices it."""
    if q.tariff is None or q.tariff.effective is None:
        return q.feats
    return {**q.feats, "tariff": q.tariff.name}


def unserved(q: Quote, color: Color) -> Unavailable | None:
    """Refused before any call when the color the plan asks does not pin the scheduled
    tariff's version: its process would refuse it (409), and failures would eject the
    color for the current tariff's quotes too. The chart pins every tariff's versions;
    this guards a schedule written ahead of the pods."""
    if q.tariff is None or q.tariff.effective is None:
        return None
    version = scheduled_version(q, color)
    log.warning("quote not priced: no inference process pins the scheduled tariff's version",
                extra={"tariff": q.tariff.name, "color": color, "version": version})
    return Unavailable(f"service temporarily unavailable (the tariff from {q.tariff.name} "
                       f"needs {color} version {version}, which no inference process "
                       "serves yet); retry shortly", color)


def usable(q: Quote, serves: Callable[[Color, str | None], bool],
           usable_now: Callable[[Color], bool]) -> Callable[[Color], bool]:
    """Whether a color can take this call: it must pin the scheduled tariff's version."""
    if q.tariff is None or q.tariff.effective is None:
        return usable_now
    return lambda c: serves(c, scheduled_version(q, c))
