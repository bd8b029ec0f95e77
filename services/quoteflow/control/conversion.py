"""Statistics of the conversion gate (issue 27 item 1): does Green convert worse than
Blue by more than a margin? Pure functions over counts: the ledger reading is in
outcome_gates.py.

The measure is the ratio of conversions, Green's over Blue's (RR), on the log scale
with Katz's standard error, sqrt((1 - p_g) / binds_g + (1 - p_b) / binds_b). The gate
tests H0: RR >= 1 - margin against Green converting worse than that, one-sided.

Looks: a rollout looks at every step and again at every hold, an unknown number of
times, so a fixed Bonferroni split does not bound its error. Alpha spending does: the
k-th test is made at alpha / (k (k + 1)); these sum to alpha over any number of looks
(1/k - 1/(k+1) telescopes), so the chance of ever failing a Green that converts as
well as Blue stays under alpha however often the rollout looks (measured in
tests/unit/control/test_conversion_sim.py). Looks too small to test spend nothing.
The price is that late looks need more data; a group-sequential design with a fixed
number of looks (O'Brien-Fleming) would spend less, but a held step looks again.

Verdicts: fail when the test rejects H0 at this look's level; pass when it does not
and the test had at least ``power`` against a Green converting ``detect`` worse (so
"no difference seen" means something); hold otherwise, stating that power.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

State = Literal["pass", "fail", "hold"]
_N = NormalDist()


@dataclass(frozen=True)
class ConversionRule:
    margin: float = 0.05  # relative: fail when Green < (1 - margin) x Blue's conversion
    alpha: float = 0.05  # chance of ever failing an equal Green, over all looks
    detect: float = 0.20  # the relative drop the stated power is against
    power: float = 0.80  # least power against ``detect`` for a pass
    min_binds: int = 20  # per color before any test (the normal approximation)
    horizon_seconds: float = 86_400.0  # a quote converts if bound within this of quoting

    def __post_init__(self) -> None:
        if not 0 <= self.margin < self.detect < 1:
            raise ValueError(f"need 0 <= margin ({self.margin}) < detect ({self.detect}) < 1")
        if not 0 < self.alpha < 1 or not 0 < self.power < 1:
            raise ValueError(f"alpha ({self.alpha}) and power ({self.power}) must be in (0, 1)")
        if self.min_binds < 1 or self.horizon_seconds <= 0:
            raise ValueError("min_binds must be >= 1 and horizon_seconds > 0")


@dataclass(frozen=True)
class Counts:
    quotes: int
    binds: int

    def __post_init__(self) -> None:
        if not 0 <= self.binds <= self.quotes:
            raise ValueError(f"need 0 <= binds ({self.binds}) <= quotes ({self.quotes})")

    @property
    def rate(self) -> float:
        return self.binds / self.quotes if self.quotes else 0.0


@dataclass(frozen=True)
class ConversionVerdict:
    state: State
    look: int  # the test's number, 1-based; the next look's if no test was made
    alpha: float  # this look's one-sided level
    effect: float | None  # Green's conversion relative to Blue's, minus 1
    low: float | None  # two-sided (1 - 2 alpha) interval of the effect
    high: float | None
    p_value: float | None  # one-sided, of H0: effect >= -margin
    power: float | None  # against a Green converting ``detect`` worse
    why: str


def alpha_at(look: int, alpha: float) -> float:
    """The level of the look-th test: alpha / (k (k + 1)), summing to alpha."""
    if look < 1:
        raise ValueError(f"looks count from 1, got {look}")
    return alpha / (look * (look + 1))


def power_against(blue_rate: float, green_quotes: int, blue_quotes: int,
                  rule: ConversionRule, level: float) -> float:
    """The chance this look's test fails a Green converting ``detect`` worse than Blue."""
    pg = blue_rate * (1 - rule.detect)
    if pg <= 0 or blue_rate >= 1 or green_quotes == 0 or blue_quotes == 0:
        return 0.0
    se = math.sqrt((1 - pg) / (green_quotes * pg) + (1 - blue_rate) / (blue_quotes * blue_rate))
    shift = (math.log(1 - rule.margin) - math.log(1 - rule.detect)) / se
    return _N.cdf(shift - _N.inv_cdf(1 - level))


def judge(green: Counts, blue: Counts, rule: ConversionRule, look: int) -> ConversionVerdict:
    """The look-th test of Green's conversion against Blue's (see the module's doc)."""
    level = alpha_at(look, rule.alpha)
    short = [f"{c} has {n.binds} binds of {n.quotes} quotes"
             for c, n in (("green", green), ("blue", blue))
             if n.binds < rule.min_binds or n.binds == n.quotes]
    if short:
        return ConversionVerdict("hold", look, level, None, None, None, None, None,
                                 f"{' and '.join(short)}; the test needs {rule.min_binds} "
                                 "binds for each color (and some quotes unbound)")
    log_rr = math.log(green.rate / blue.rate)
    se = math.sqrt((1 - green.rate) / green.binds + (1 - blue.rate) / blue.binds)
    z = _N.inv_cdf(1 - level)
    p = _N.cdf((log_rr - math.log(1 - rule.margin)) / se)
    power = power_against(blue.rate, green.quotes, blue.quotes, rule, level)
    effect, low, high = (math.exp(log_rr) - 1, math.exp(log_rr - z * se) - 1,
                         math.exp(log_rr + z * se) - 1)
    text = (f"Green {green.rate:.2%} of {green.quotes}, Blue {blue.rate:.2%} of "
            f"{blue.quotes}: effect {effect:+.1%} [{low:+.1%}, {high:+.1%}], p {p:.3g} "
            f"(test {look}: level {level:.2g}), margin {-rule.margin:+.0%}, power "
            f"{power:.0%} against {-rule.detect:+.0%}")
    if p < level:
        return ConversionVerdict("fail", look, level, effect, low, high, p, power,
                                 f"converts worse than the margin: {text}")
    if power >= rule.power:
        return ConversionVerdict("pass", look, level, effect, low, high, p, power, text)
    return ConversionVerdict("hold", look, level, effect, low, high, p, power,
                             f"cannot tell yet (power under {rule.power:.0%}): {text}")
