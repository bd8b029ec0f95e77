"""Admission control: refuse a quote at once when the router cannot answer it inside
the budget, instead of queueing it behind quotes that are already late.

Two predictors, each cheap to read on every request (measured on 2 cores with the
whole chain on them, open loop at 1.5x its closed-loop maximum):

- in-flight quotes at ``max_in_flight``: every admitted quote waits its turn at the
  same upstreams, so a new one answers in about in_flight / throughput (Little's law).
  The clients this platform knows hold at most 64 quotes open (the drills', the
  bench's closed loop); a flood beyond the chain's capacity goes past that, and with
  64 admitted the slowest answers stayed near the budget where 96 let them reach ~300 ms.
- event-loop lag over ``max_loop_lag`` for ``lag_window`` or longer: the router's own
  CPU is the queue. A quote crosses the loop several times (read, preprocess,
  inference, ledger, write), so a loop late by 30 ms makes a quote late by ~100 ms,
  and quotes waiting in the socket buffers are invisible to the in-flight count but
  not to the lag. One late tick (a GC pause, the machine busy elsewhere) is not
  overload: only a lag that lasts a window is, and only while at least half the
  in-flight limit is in progress: a loop late with a few quotes in progress is the
  machine's hiccup (a neighbour, a GC pause), which refusing quotes would not cure.
  About half the refusals at 1.5x were this predictor's; a laxer 50 ms / 200 ms rule
  let the p99 reach 1.8 s in two runs of six.

No HTTP here: ``enter`` returns Admitted or Shed (reason in a fixed set, so the metric's
labels stay bounded); app.py maps Shed to 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from quoteflow import metrics

ShedReason = Literal["in_flight", "loop_lag"]
SHED_REASONS: tuple[ShedReason, ...] = ("in_flight", "loop_lag")


@dataclass(frozen=True)
class Admitted:
    """Admitted: call ``Admission.leave()`` once the quote is answered."""


@dataclass(frozen=True)
class Shed:
    reason: ShedReason
    retry_after_s: int

    @property
    def detail(self) -> str:
        why = ("too many quotes in progress" if self.reason == "in_flight"
               else "the router is behind on its own work")
        return f"service overloaded ({why}); retry after {self.retry_after_s} s"


ADMITTED = Admitted()
Decision = Admitted | Shed


class Admission:
    """Counts quotes in progress and the event loop's lag; decides per request.

    A limit of 0 turns that predictor off. ``clock`` is injectable for tests.
    """

    def __init__(self, max_in_flight: int, max_loop_lag: float, lag_window: float,
                 lag_interval: float = 0.01, retry_after_s: int = 1,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.max_in_flight = max_in_flight
        self.lag_floor = max_in_flight // 2  # in flight, for the lag to refuse
        self.max_loop_lag = max_loop_lag
        self.lag_window = lag_window
        self.lag_interval = lag_interval
        self.clock = clock
        self.in_flight = 0
        self.lag = 0.0  # the last tick's lag, seconds
        self._late_since: float | None = None  # since when every tick was over the limit
        self._shed = {r: Shed(r, retry_after_s) for r in SHED_REASONS}
        self._counters = {r: metrics.child(metrics.QUOTES_SHED, r) for r in SHED_REASONS}
        self._refused = metrics.child(metrics.QUOTES, "none", "503")

    @property
    def lagging(self) -> bool:
        """The loop has been over its lag limit for a whole window."""
        since = self._late_since
        return since is not None and self.clock() - since >= self.lag_window

    def enter(self) -> Decision:
        n = self.in_flight
        if self.max_in_flight and n >= self.max_in_flight:
            return self._refuse("in_flight")
        if n >= self.lag_floor and self._late_since is not None and self.lagging:
            return self._refuse("loop_lag")
        self.in_flight += 1
        return ADMITTED

    def leave(self) -> None:
        self.in_flight -= 1

    def _refuse(self, reason: ShedReason) -> Shed:
        self._counters[reason].inc()
        self._refused.inc()
        return self._shed[reason]

    def observe_lag(self, lag: float, now: float) -> None:
        """One tick: ``lag`` is how late it ran at ``now``. A late tick means the loop
        was behind since ``now - lag``; an on-time tick ends the episode."""
        self.lag = lag
        if not self.max_loop_lag or lag <= self.max_loop_lag:
            self._late_since = None
        elif self._late_since is None:
            self._late_since = now - lag

    async def watch(self) -> None:
        """Measure the loop's lag every ``lag_interval`` until cancelled."""
        clock, interval = self.clock, self.lag_interval
        while True:
            due = clock() + interval
            await asyncio.sleep(interval)
            now = clock()
            self.observe_lag(max(now - due, 0.0), now)
