"""Statistics for a rollout gate on reviewer outcomes (issue 27 item 2): is Green's
agreement with reviewers, or its fraud recall against them, worse than Blue's by more
than a margin? Pure functions: a gate in control/ feeds them outcomes.Outcome counts.

The gate holds ("waiting") until each color has at least ``min_reviewed`` reviewed
claims. Then it compares the two shares with the Newcombe hybrid score interval for a
difference of proportions (Wilson intervals per color, Newcombe 1998, method 10),
which keeps its coverage for small counts and shares near 0 or 1, where the Wald
interval does not. A rollout looks again at every step; each look is tested at
alpha / max_looks (Bonferroni), so across up to ``max_looks`` looks the chance of ever
passing a Green that is truly worse by the margin stays under alpha, whenever it looks
(simulated in the tests: 1.9%, against 22% when each look is tested at 5%).

The price is data: with shares near 0.8, a 0.02 margin and the defaults, a Green exactly
as good as Blue passes half the time only at about 6,000 reviewed claims per color
(measured: 1,000 -> 4%, 2,000 -> 9%, 4,000 -> 26%, 6,000 -> 50%, 8,000 -> 64%). The
margin and the reviewers' volume decide how long a claims rollout takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from quoteflow.desk.outcomes import Outcome

State = Literal["waiting", "pass", "fail", "undecided"]
# measure -> (successes, trials) attributes of Outcome
MEASURES: dict[str, tuple[str, str]] = {
    "agreement": ("agreed", "reviewed"),
    "fraud_recall": ("fraud_caught", "fraud_confirmed"),
    "fraud_precision": ("fraud_caught", "fraud_flagged"),
}


@dataclass(frozen=True)
class GateRule:
    min_reviewed: int = 200  # per color, before any verdict
    margin: float = 0.02  # Green may be worse than Blue by at most this share
    alpha: float = 0.05  # over all looks together
    max_looks: int = 20

    def __post_init__(self) -> None:
        if self.min_reviewed < 1 or not 0 <= self.margin < 1:
            raise ValueError("min_reviewed must be >= 1 and margin in [0, 1)")
        if not 0 < self.alpha < 1 or self.max_looks < 1:
            raise ValueError("alpha must be in (0, 1) and max_looks >= 1")

    @property
    def z(self) -> float:
        """One-sided critical value of one look."""
        return NormalDist().inv_cdf(1 - self.alpha / self.max_looks)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


@dataclass(frozen=True)
class Verdict:
    measure: str
    state: State
    difference: Interval | None  # Green minus Blue; None while waiting
    why: str


def wilson(successes: int, trials: int, z: float) -> Interval:
    """Wilson score interval of a share."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes ({successes}) <= trials ({trials}), trials > 0")
    p, z2 = successes / trials, z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z / (1 + z2 / trials) * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials ** 2))
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def difference(green: tuple[int, int], blue: tuple[int, int], z: float) -> Interval:
    """Newcombe's hybrid score interval of p_green - p_blue ((successes, trials) each)."""
    g, b = wilson(*green, z), wilson(*blue, z)
    d = g.estimate - b.estimate
    low = d - math.sqrt((g.estimate - g.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((g.high - g.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high))


def judge(measure: str, green: Outcome, blue: Outcome, rule: GateRule) -> Verdict:
    """pass: Green is not worse than Blue by the margin (the interval's low end above
    -margin); fail: it is (the high end below -margin); undecided: not yet known."""
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}: one of {', '.join(MEASURES)}")
    short = [f"{o.color} has {o.reviewed}" for o in (blue, green)
             if o.reviewed < rule.min_reviewed]
    if short:
        return Verdict(measure, "waiting", None, f"{' and '.join(short)} reviewed claims; "
                       f"the gate needs {rule.min_reviewed} for each color")
    hits, trials = MEASURES[measure]
    counts = [(getattr(o, hits), getattr(o, trials)) for o in (green, blue)]
    if any(n == 0 for _, n in counts):
        return Verdict(measure, "waiting", None, f"no {trials.replace('_', ' ')} claims "
                       f"yet for {'green' if counts[0][1] == 0 else 'blue'}")
    d = difference(counts[0], counts[1], rule.z)
    text = (f"{measure} green - blue = {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}] "
            f"(one-sided {1 - rule.alpha / rule.max_looks:.4f} per look), margin "
            f"{-rule.margin:+.3f}")
    if d.low > -rule.margin:
        return Verdict(measure, "pass", d, text)
    if d.high < -rule.margin:
        return Verdict(measure, "fail", d, text)
    return Verdict(measure, "undecided", d, text)


def judge_all(green: Outcome, blue: Outcome, rule: GateRule,
              measures: tuple[str, ...] = ("agreement", "fraud_recall")) -> list[Verdict]:
    return [judge(m, green, blue, rule) for m in measures]
