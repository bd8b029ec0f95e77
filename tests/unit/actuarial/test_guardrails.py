"""Price guardrails: floor, ceiling, renewal cap and ENBP, in exact cents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quoteflow.actuarial.guardrails import Guardrails, new_business, renewal

G = Guardrails(minor_unit=2, floor=Decimal("150.00"), ceiling=Decimal("5000.00"),
               renewal_cap=Decimal("0.15"), enbp=True)
cents = st.integers(min_value=1, max_value=2_000_000).map(lambda c: Decimal(c).scaleb(-2))


def test_new_business_states_each_rule_and_by_how_much() -> None:
    low = new_business(Decimal("97.40"), G)
    assert (low.premium, low.uncapped) == (Decimal("150.00"), Decimal("97.40"))
    assert [(f.rule, f.by) for f in low.fired] == [("floor", Decimal("52.60"))]
    high = new_business(Decimal("7312.55"), G)
    assert high.premium == Decimal("5000.00")
    assert [(f.rule, f.by) for f in high.fired] == [("ceiling", Decimal("-2312.55"))]
    assert new_business(Decimal("420.10"), G).fired == ()


def test_renewal_capped_up_and_held_by_enbp_down() -> None:
    # the risk now prices at 600 new business; last year's 400 may rise 15% at most
    up = renewal(new_business(Decimal("600.00"), G), Decimal("400.00"), G)
    assert up.premium == Decimal("460.00")
    assert [(f.rule, f.by) for f in up.fired] == [("renewal_cap", Decimal("-140.00"))]
    assert (up.prior, up.new_business) == (Decimal("400.00"), Decimal("600.00"))
    # it prices at 300 now: the cap would hold 340, ENBP brings it to new business's 300
    down = renewal(new_business(Decimal("300.00"), G), Decimal("400.00"), G)
    assert down.premium == Decimal("300.00")
    assert [(f.rule, f.by) for f in down.fired] == [("renewal_cap", Decimal("40.00")),
                                                    ("enbp", Decimal("-40.00"))]


def test_cap_bounds_round_inwards() -> None:
    # 333.33 * 1.15 = 383.3295: the cap allows 383.32, never 383.33
    r = renewal(new_business(Decimal("900.00"), G), Decimal("333.33"), G)
    assert r.premium == Decimal("383.32")


@settings(max_examples=3000, deadline=None)
@given(uncapped=cents, prior=cents, cap=st.integers(0, 99), enbp=st.booleans())
def test_guardrails_hold_over_random_prices(uncapped: Decimal, prior: Decimal, cap: int,
                                            enbp: bool) -> None:
    g = Guardrails(minor_unit=2, floor=Decimal("150.00"), ceiling=Decimal("5000.00"),
                   renewal_cap=Decimal(cap).scaleb(-2), enbp=enbp)
    nb = new_business(uncapped, g)
    assert g.floor is not None and g.ceiling is not None and g.renewal_cap is not None
    assert g.floor <= nb.premium <= g.ceiling
    r = renewal(nb, prior, g)
    for held in (nb, r):  # every cent of movement is stated, in cents
        assert held.uncapped + sum(f.by for f in held.fired) == held.premium
        assert held.premium == held.premium.quantize(g.unit)
    assert r.premium >= g.floor
    if enbp:
        assert r.premium <= nb.premium
    inside = prior * (1 - g.renewal_cap) <= r.premium <= prior * (1 + g.renewal_cap)
    forced = {f.rule for f in r.fired} & {"enbp", "floor"}
    # outside the cap only where ENBP or the floor moved it after the cap, or where the
    # cap's band holds no whole cent
    band_empty = ((prior * (1 - g.renewal_cap)).quantize(g.unit, "ROUND_CEILING")
                  > (prior * (1 + g.renewal_cap)).quantize(g.unit, "ROUND_FLOOR"))
    assert inside or forced or band_empty


def test_bad_guardrails_are_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="ceiling 100 is below the floor 150"):
        Guardrails(minor_unit=2, floor=Decimal("150"), ceiling=Decimal("100"))
    with pytest.raises(ValueError, match=r"renewal_cap 1.5 must be a fraction"):
        Guardrails(minor_unit=2, renewal_cap=Decimal("1.5"))
    with pytest.raises(ValueError, match="renewed premium must be positive"):
        renewal(new_business(Decimal("200"), G), Decimal("0"), G)


def test_metadata_round_trip() -> None:
    assert Guardrails.of(G.as_metadata()) == G
