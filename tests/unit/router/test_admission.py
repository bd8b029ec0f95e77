"""Admission control: a quote over the in-flight limit, or arriving while the event loop
has been late for a whole window with half that limit in progress, is refused at once
(Shed, counted by reason); one late tick is not overload, nor a late loop with a few
quotes in progress; a limit of 0 turns its predictor off."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY

from quoteflow.router.admission import ADMITTED, SHED_REASONS, Admission, Shed


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def shed_count(reason: str) -> float:
    return REGISTRY.get_sample_value("quoteflow_quotes_shed_total", {"reason": reason}) or 0.0


def refused_503() -> float:
    return REGISTRY.get_sample_value("quoteflow_quotes_total",
                                     {"color": "none", "status": "503"}) or 0.0


def test_in_flight_limit_refuses_at_once_and_frees_a_place_on_leave() -> None:
    a = Admission(max_in_flight=3, max_loop_lag=0.03, lag_window=0.1, retry_after_s=2)
    before, before_503 = shed_count("in_flight"), refused_503()
    assert [a.enter() for _ in range(3)] == [ADMITTED] * 3
    refused = a.enter()
    assert refused == Shed("in_flight", 2)
    assert isinstance(refused, Shed) and "retry after 2 s" in refused.detail
    assert a.in_flight == 3  # a refused quote holds no place
    a.leave()
    assert a.enter() is ADMITTED
    assert shed_count("in_flight") - before == 1
    assert refused_503() - before_503 == 1  # also a 503 of quoteflow_quotes_total


def test_one_late_tick_is_not_overload() -> None:
    clock = Clock()
    a = Admission(max_in_flight=0, max_loop_lag=0.03, lag_window=0.1, clock=clock)
    a.observe_lag(0.08, clock.now)  # a GC pause: late since 80 ms ago, not a whole window
    assert a.lag == 0.08 and not a.lagging
    assert a.enter() is ADMITTED
    clock.now += 0.011
    a.observe_lag(0.001, clock.now)  # on time again: the episode ends
    clock.now += 0.5
    assert not a.lagging and a.enter() is ADMITTED


def busy(a: Admission, n: int) -> None:
    assert all(a.enter() is ADMITTED for _ in range(n))


def test_lag_lasting_a_window_sheds_until_a_tick_is_on_time() -> None:
    clock = Clock()
    a = Admission(max_in_flight=64, max_loop_lag=0.03, lag_window=0.1, clock=clock)
    busy(a, 32)  # half the limit in progress
    before = shed_count("loop_lag")
    for _ in range(3):  # ticks 40 ms late, one after the other: 120 ms behind
        clock.now += 0.05
        a.observe_lag(0.04, clock.now)
    assert a.lagging
    assert a.enter() == Shed("loop_lag", 1)
    assert shed_count("loop_lag") - before == 1
    clock.now += 0.012
    a.observe_lag(0.002, clock.now)
    assert not a.lagging and a.enter() is ADMITTED


def test_a_late_loop_with_few_quotes_in_progress_is_not_ours_to_relieve() -> None:
    clock = Clock()
    a = Admission(max_in_flight=64, max_loop_lag=0.03, lag_window=0.1, clock=clock)
    busy(a, 31)
    a.observe_lag(0.5, clock.now)  # a neighbour took the CPU for half a second
    assert a.lagging
    assert a.enter() is ADMITTED  # the 32nd
    assert a.enter() == Shed("loop_lag", 1)  # the 33rd: half the limit was in progress


def test_a_long_single_stall_counts_from_when_the_loop_fell_behind() -> None:
    clock = Clock()
    a = Admission(max_in_flight=0, max_loop_lag=0.03, lag_window=0.1, clock=clock)
    a.observe_lag(0.25, clock.now)  # one tick 250 ms late: behind for longer than a window
    assert a.lagging


def test_limits_of_zero_turn_the_predictors_off() -> None:
    clock = Clock()
    a = Admission(max_in_flight=0, max_loop_lag=0, lag_window=0.1, clock=clock)
    a.observe_lag(5.0, clock.now)
    assert not a.lagging
    assert all(a.enter() is ADMITTED for _ in range(1000))


def test_reasons_are_a_fixed_set() -> None:
    assert SHED_REASONS == ("in_flight", "loop_lag")


def test_watch_measures_a_blocked_loop() -> None:
    async def main() -> float:
        a = Admission(max_in_flight=0, max_loop_lag=0.03, lag_window=0.1, lag_interval=0.005)
        task = asyncio.create_task(a.watch())
        await asyncio.sleep(0.02)
        time.sleep(0.06)  # the loop is blocked: the next tick runs ~60 ms late
        await asyncio.sleep(0.001)
        lag = a.lag
        task.cancel()
        return lag

    assert asyncio.run(main()) >= 0.04


def test_the_app_answers_a_shed_quote_503_with_retry_after() -> None:
    from quoteflow.router.app import to_response

    r = to_response(Shed("loop_lag", 2))
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert b"overloaded" in r.body
