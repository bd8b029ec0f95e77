"""Which color serves a call, and where its one retry goes: pure decisions, no I/O.

Failover goes only onto a color that serves live traffic: after the kill switch
(Green at 0) Green takes nothing, not even Blue's failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from quoteflow.traffic.policy import Color, Split

# Below this much budget left a retry could not answer in time.
MIN_RETRY_SECONDS = 0.005


def other(color: Color) -> Color:
    return "green" if color == "blue" else "blue"


def serves_live(policy: Split, color: Color) -> bool:
    if policy.version_of(color) is None:
        return False
    return policy.green_weight > 0 if color == "green" else policy.green_weight < 100


@dataclass(frozen=True)
class Plan:
    color: Color  # who is asked first
    fallback: Color | None  # who may absorb its failure
    skipped: bool = False  # the assigned color was known down and skipped


@dataclass(frozen=True)
class Retry:
    color: Color
    timeout: float


def first_choice(policy: Split, assigned: Color, usable: Callable[[Color], bool]) -> Plan:
    """The assigned color, unless it is known down and the other can take over."""
    alt = other(assigned)
    can_fail_over = serves_live(policy, alt) and usable(alt)
    if not usable(assigned) and can_fail_over:
        return Plan(alt, None, skipped=True)
    return Plan(assigned, alt if can_fail_over else None)


def second_attempt(plan: Plan, reason: str, left: float) -> Retry | None:
    """After the first call failed for ``reason`` with ``left`` seconds of budget: one
    more attempt on the fallback color if there is one, else on the same color unless
    it is gone (connection refused) or the budget is spent."""
    if plan.fallback is not None:
        return Retry(plan.fallback, max(left, MIN_RETRY_SECONDS))
    if reason == "connection" or left <= MIN_RETRY_SECONDS:
        return None
    return Retry(plan.color, left)
