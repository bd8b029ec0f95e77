"""Which tariff prices a quote: the one in effect at its cover start.

A quote's cover start comes from its product (preprocess answers ``cover_start`` beside
``sticky_key``): a date is the cover's first day, starting at midnight UTC; an instant
with its zone is taken as it is; none (a product without cover dates) is the quote's
own instant. The tariff is the last scheduled one whose effective instant is at or
before the cover start, else the policy's top level (the tariff in effect now). So in
December, a quote for a cover starting on 1 January already gets January's tariff, and
nobody moves a weight at midnight.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from quoteflow.traffic.policy import Policy
from quoteflow.traffic.split import Split

CURRENT = "current"  # the top level's name in a tariff's reason and in `traffic show`


class CoverStartError(ValueError):
    """A product's cover start the router cannot read (a product bug, not the caller's)."""


@dataclass(frozen=True)
class TariffChoice:
    split: Split
    effective: dt.datetime | None  # None: the top level
    cover_start: dt.datetime
    scheduled: int  # how many tariffs the schedule holds (the rule text depends on it)

    @property
    def name(self) -> str:
        """What keys a re-quote: the tariff's effective instant, or ``current``."""
        return CURRENT if self.effective is None else iso(self.effective)

    def reason(self) -> dict[str, Any]:
        """Why this tariff: what the ledger records beside the color's reason."""
        if self.effective is not None:
            rule = "cover_start >= effective (the last such scheduled tariff)"
        elif self.scheduled:
            rule = "cover_start before every scheduled tariff: the current one"
        else:
            rule = "no tariff scheduled: the current one"
        return {"tariff": self.split.blue.version, "effective": self.name,
                "cover_start": iso(self.cover_start), "rule": rule}


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def cover_start_instant(value: Any, now: dt.datetime) -> dt.datetime:
    """The cover start a product gave (ISO date or instant text), as a UTC instant."""
    if value is None:
        return now
    try:
        if isinstance(value, str) and len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), dt.UTC)
        t = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError) as e:
        raise CoverStartError(f"cover_start {value!r} is not an ISO date or instant") from e
    if t.tzinfo is None:
        raise CoverStartError(f"cover_start {value!r} has no time zone")
    return t.astimezone(dt.UTC)


def tariff_for(policy: Policy, cover_start: dt.datetime) -> TariffChoice:
    """The tariff in effect at ``cover_start`` (an aware instant)."""
    chosen = None
    for t in policy.tariffs:  # by effective instant: validated on load
        if t.effective > cover_start:
            break
        chosen = t
    if chosen is None:
        return TariffChoice(policy, None, cover_start, len(policy.tariffs))
    return TariffChoice(chosen, chosen.effective, cover_start, len(policy.tariffs))


def in_effect(policy: Policy, now: dt.datetime) -> str:
    """The name of the tariff a cover starting ``now`` gets (for `traffic show`)."""
    return tariff_for(policy, now).name
