"""The conversion gate over many simulated rollouts (issue 27 item 1's done-when).

Realistic rates: 20,000 quotes an hour, Blue converting 10% (aggregator-like motor),
steps 5, 25, 50, 100% of an hour each, looking on all quotes since the first live step;
a held step looks again an hour later, up to 24 looks. With Green converting 20% worse
the gate must fail it; with Green converting as Blue it must fail at most alpha of the
rollouts, however many times they looked."""

from __future__ import annotations

import numpy as np

from quoteflow.control.conversion import ConversionRule, Counts, judge

RATE, BLUE, STEPS, MAX_LOOKS = 20_000, 0.10, (5.0, 25.0, 50.0, 100.0), 24


def simulate(green_rate: float, rollouts: int, rule: ConversionRule, seed: int
             ) -> dict[str, float]:
    """Share of rollouts failed, completed, still holding; mean looks tested."""
    rng = np.random.default_rng(seed)
    ends = {"fail": 0, "complete": 0, "hold": 0}
    tests = 0
    for _ in range(rollouts):
        g = b = gq = bq = 0
        step, look, end = 0, 1, "hold"
        for _hour in range(MAX_LOOKS):
            n_green = int(rng.binomial(RATE, STEPS[step] / 100))
            gq, bq = gq + n_green, bq + RATE - n_green
            g += int(rng.binomial(n_green, green_rate))
            b += int(rng.binomial(RATE - n_green, BLUE))
            v = judge(Counts(gq, g), Counts(bq, b), rule, look)
            look += v.p_value is not None  # only a test spends alpha
            if v.state == "fail":
                end = "fail"
                break
            if v.state == "pass":
                step += 1
                if step == len(STEPS):
                    end = "complete"
                    break
        ends[end] += 1
        tests += look - 1
    return {**{k: n / rollouts for k, n in ends.items()}, "tests": tests / rollouts}


def test_equal_conversion_fails_no_more_often_than_alpha() -> None:
    rule = ConversionRule()
    out = simulate(BLUE, 2000, rule, seed=1)
    print(f"\nequal conversion, 2,000 rollouts: failed {out['fail']:.2%} "
          f"(alpha {rule.alpha:.0%}), completed {out['complete']:.1%}, "
          f"{out['tests']:.1f} tests a rollout")
    # the binomial sd of a 5% share over 2,000 rollouts is 0.5%: alpha is the bound
    assert out["fail"] <= rule.alpha
    assert out["complete"] > 0.9, "an equal Green must get through at these rates"


def test_green_converting_20_percent_worse_is_failed() -> None:
    out = simulate(BLUE * 0.8, 500, ConversionRule(), seed=2)
    print(f"\nGreen 20% worse, 500 rollouts: failed {out['fail']:.1%}, completed "
          f"{out['complete']:.1%}, {out['tests']:.1f} tests a rollout")
    assert out["fail"] >= 0.95 and out["complete"] <= 0.02


def test_a_green_exactly_at_the_margin_fails_at_most_alpha() -> None:
    """The test's worst case: Green converting exactly (1 - margin) x Blue's."""
    rule = ConversionRule()
    out = simulate(BLUE * (1 - rule.margin), 2000, rule, seed=3)
    print(f"\nGreen at the margin ({-rule.margin:+.0%}), 2,000 rollouts: failed "
          f"{out['fail']:.2%} (alpha {rule.alpha:.0%}), {out['tests']:.1f} tests a rollout")
    assert out["fail"] <= rule.alpha
