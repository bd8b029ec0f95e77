"""Price guardrails: the rules between a model's price and the price a customer sees.

Applied in exact decimals of the currency's unit, in a fixed order, each rule that
changes the price recorded with the amount it moved it by:

- new business: ``floor`` (the tariff's minimum premium), then ``ceiling``;
- a renewal of a bound premium ``prior``, starting from the new-business price of the
  same risk on the same day: ``renewal_cap`` (at most ``cap`` of ``prior`` up or down,
  bounds rounded inwards so the cap is never exceeded by a rounding), then ``enbp``
  (never above that new-business price: FCA PS21/5), then ``floor`` again.

So a renewal is never above its new-business price, never below the floor, and inside
the cap unless ENBP or the floor forced it out (both stated in its rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

RULES = ("floor", "ceiling", "renewal_cap", "enbp")


@dataclass(frozen=True)
class Guardrails:
    minor_unit: int  # decimals of the currency's unit (EUR: 2, cents)
    floor: Decimal | None = None
    ceiling: Decimal | None = None
    renewal_cap: Decimal | None = None  # a fraction: 0.15 = 15% up or down
    enbp: bool = True

    def __post_init__(self) -> None:
        if self.floor is not None and self.ceiling is not None and self.ceiling < self.floor:
            raise ValueError(f"ceiling {self.ceiling} is below the floor {self.floor}")
        if self.renewal_cap is not None and not 0 <= self.renewal_cap < 1:
            raise ValueError(f"renewal_cap {self.renewal_cap} must be a fraction in [0, 1)")

    @property
    def unit(self) -> Decimal:
        return Decimal(1).scaleb(-self.minor_unit)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Guardrails:
        """From their metadata form (``as_metadata``): numbers as JSON keeps them."""
        def dec(key: str) -> Decimal | None:
            return None if doc.get(key) is None else Decimal(repr(doc[key]))

        return cls(minor_unit=int(doc["minor_unit"]), floor=dec("floor"),
                   ceiling=dec("ceiling"), renewal_cap=dec("renewal_cap"),
                   enbp=bool(doc.get("enbp", True)))

    def as_metadata(self) -> dict[str, Any]:
        return {"minor_unit": self.minor_unit,
                "floor": _num(self.floor), "ceiling": _num(self.ceiling),
                "renewal_cap": _num(self.renewal_cap), "enbp": self.enbp}


@dataclass(frozen=True)
class Fired:
    rule: str  # one of RULES
    by: Decimal  # what the rule added (negative: took off)


@dataclass(frozen=True)
class Guarded:
    premium: Decimal
    uncapped: Decimal  # the model's price before any rule
    fired: tuple[Fired, ...] = ()
    new_business: Decimal | None = None  # renewals: the same risk's new-business price
    prior: Decimal | None = None  # renewals: the bound premium renewed

    def as_breakdown(self) -> dict[str, Any]:
        """The quote's record of it: exact decimals as JSON numbers' text."""
        doc: dict[str, Any] = {"uncapped_premium": float(self.uncapped),
                               "rules": [{"rule": f.rule, "by": float(f.by)}
                                         for f in self.fired]}
        if self.prior is not None:
            doc["prior_premium"] = float(self.prior)
            doc["new_business_premium"] = float(self.new_business or 0)
        return doc


def new_business(uncapped: Decimal, g: Guardrails) -> Guarded:
    price, fired = uncapped, []
    if g.floor is not None and price < g.floor:
        fired.append(Fired("floor", g.floor - price))
        price = g.floor
    if g.ceiling is not None and price > g.ceiling:
        fired.append(Fired("ceiling", g.ceiling - price))
        price = g.ceiling
    return Guarded(price, uncapped, tuple(fired))


def renewal(nb: Guarded, prior: Decimal, g: Guardrails) -> Guarded:
    """The renewal of a bound ``prior`` premium, from the same risk's new-business price."""
    if prior <= 0:
        raise ValueError(f"the renewed premium must be positive, got {prior}")
    price, fired = nb.premium, list(nb.fired)

    def move(rule: str, to: Decimal) -> None:
        nonlocal price
        if to != price:
            fired.append(Fired(rule, to - price))
            price = to

    if g.renewal_cap is not None:
        low = (prior * (1 - g.renewal_cap)).quantize(g.unit, ROUND_CEILING)
        high = (prior * (1 + g.renewal_cap)).quantize(g.unit, ROUND_FLOOR)
        move("renewal_cap", min(max(price, low), high))
    if g.enbp and price > nb.premium:
        move("enbp", nb.premium)
    if g.floor is not None and price < g.floor:
        move("floor", g.floor)
    return Guarded(price, nb.uncapped, tuple(fired), new_business=nb.premium, prior=prior)


def _num(v: Decimal | None) -> float | None:
    return None if v is None else float(v)
