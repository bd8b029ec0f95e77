from __future__ import annotations

import pytest

from quoteflow.control.conversion import ConversionRule, Counts, alpha_at, judge, power_against


def test_alpha_spending_sums_to_alpha_over_any_number_of_looks() -> None:
    assert alpha_at(1, 0.05) == pytest.approx(0.025)
    assert alpha_at(2, 0.05) == pytest.approx(0.05 / 6)
    assert sum(alpha_at(k, 0.05) for k in range(1, 10_000)) == pytest.approx(0.05, rel=1e-3)
    with pytest.raises(ValueError, match="looks count from 1"):
        alpha_at(0, 0.05)


def test_too_few_binds_holds_and_names_them() -> None:
    v = judge(Counts(100, 5), Counts(2000, 200), ConversionRule(), look=1)
    assert v.state == "hold" and v.p_value is None
    assert "green has 5 binds of 100 quotes" in v.why and "needs 20 binds" in v.why


def test_a_clear_drop_fails_with_effect_interval_and_p_value() -> None:
    v = judge(Counts(10_000, 800), Counts(10_000, 1000), ConversionRule(), look=1)
    assert v.state == "fail"
    assert v.effect == pytest.approx(-0.2)
    assert v.low is not None and v.high is not None and v.low < -0.2 < v.high < -0.05
    assert v.p_value is not None and v.p_value < v.alpha
    assert "effect -20.0%" in v.why


def test_equal_and_well_powered_passes_underpowered_holds() -> None:
    rule = ConversionRule()
    big = judge(Counts(20_000, 2000), Counts(20_000, 2000), rule, look=1)
    assert big.state == "pass" and big.power is not None and big.power >= 0.8
    small = judge(Counts(400, 40), Counts(400, 40), rule, look=1)
    assert small.state == "hold" and "cannot tell yet" in small.why
    assert small.power is not None and small.power < 0.8


def test_a_later_look_needs_stronger_evidence() -> None:
    rule = ConversionRule()
    green, blue = Counts(8000, 650), Counts(8000, 800)
    assert judge(green, blue, rule, 1).state == "fail"
    assert judge(green, blue, rule, 8).state != "fail"


def test_power_grows_with_quotes() -> None:
    rule = ConversionRule()
    assert power_against(0.1, 1000, 1000, rule, 0.025) < power_against(0.1, 10_000, 10_000,
                                                                       rule, 0.025)
    assert power_against(0.1, 0, 1000, rule, 0.025) == 0.0


@pytest.mark.parametrize("kw", [{"margin": 0.3}, {"alpha": 0}, {"min_binds": 0}])
def test_bad_rules_are_refused(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ConversionRule(**kw)


def test_counts_refuse_more_binds_than_quotes() -> None:
    with pytest.raises(ValueError, match="binds"):
        Counts(3, 4)
