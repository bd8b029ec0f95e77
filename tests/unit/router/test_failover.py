"""The router's failover decisions, pure functions over a policy and upstream health."""

from __future__ import annotations

import pytest

from quoteflow.router.failover import MIN_RETRY_SECONDS, first_choice, second_attempt, serves_live
from quoteflow.traffic.policy import Color, parse_policy


def policy(weight: float, green: bool = True):  # type: ignore[no-untyped-def]
    doc = {"blue": {"version": "1"}, "green_weight": weight}
    if green:
        doc["green"] = {"version": "2"}
    return parse_policy(doc, "test")


def up(*colors: Color):  # type: ignore[no-untyped-def]
    return lambda c: c in colors


def test_serves_live_follows_the_weight() -> None:
    assert serves_live(policy(10), "green") and serves_live(policy(10), "blue")
    assert not serves_live(policy(0), "green")  # the kill switch: Green takes nothing
    assert not serves_live(policy(100), "blue")
    assert not serves_live(policy(0, green=False), "green")


def test_assigned_color_is_asked_first_with_the_other_as_fallback() -> None:
    plan = first_choice(policy(50), "green", up("blue", "green"))
    assert (plan.color, plan.fallback, plan.skipped) == ("green", "blue", False)


def test_a_color_known_down_is_skipped_without_a_call() -> None:
    plan = first_choice(policy(50), "green", up("blue"))
    assert (plan.color, plan.fallback, plan.skipped) == ("blue", None, True)


def test_no_failover_onto_a_killed_green() -> None:
    plan = first_choice(policy(0), "blue", up("blue", "green"))
    assert plan.fallback is None
    # Blue down and Green killed: Blue is still asked (nobody else may answer)
    plan = first_choice(policy(0), "blue", up("green"))
    assert (plan.color, plan.skipped) == ("blue", False)


def test_retry_goes_to_the_fallback_with_what_is_left() -> None:
    plan = first_choice(policy(50), "green", up("blue", "green"))
    retry = second_attempt(plan, "timeout", 0.05)
    assert retry is not None and (retry.color, retry.timeout) == ("blue", 0.05)
    # even with the budget spent the fallback gets the minimum, never a negative timeout
    retry = second_attempt(plan, "timeout", -0.01)
    assert retry is not None and retry.timeout == MIN_RETRY_SECONDS


@pytest.mark.parametrize(("reason", "left", "expected"), [
    ("connection", 0.1, None),  # the process is gone: retrying it is pointless
    ("timeout", 0.001, None),  # no budget left
    ("timeout", 0.05, ("blue", 0.05)),  # one slow moment: same color again
    ("status_5xx", 0.05, ("blue", 0.05)),
])
def test_without_fallback_retry_same_color_unless_gone_or_late(
        reason: str, left: float, expected: tuple[str, float] | None) -> None:
    plan = first_choice(policy(0), "blue", up("blue"))
    retry = second_attempt(plan, reason, left)
    assert (None if retry is None else (retry.color, retry.timeout)) == expected
