"""The reviewer-outcome gate's statistics: published interval values, the waiting rule,
and the error rate under repeated looks, simulated."""

from __future__ import annotations

import numpy as np
import pytest

from quoteflow.desk.outcome_gate import GateRule, difference, judge, judge_all, wilson
from quoteflow.desk.outcomes import Outcome

Z95 = 1.959964  # two-sided 95%, as in Newcombe (1998)


def outcome(color: str, reviewed: int, agreed: int, confirmed: int = 0,
            caught: int = 0) -> Outcome:
    return Outcome("1" if color == "blue" else "2", color, reviewed, agreed, caught,
                   confirmed, caught, 0.0)


def test_wilson_and_newcombe_match_the_published_examples() -> None:
    # Newcombe 1998 (Stat Med 17:857), table I, 81/263, score method: 0.2553 to 0.3662
    w = wilson(81, 263, Z95)
    assert (round(w.low, 4), round(w.high, 4)) == (0.2553, 0.3662)
    # Newcombe 1998 (Stat Med 17:873), table II example (a): 56/70 - 48/80, method 10:
    # 0.0524 to 0.3339
    d = difference((56, 70), (48, 80), Z95)
    assert (round(d.low, 4), round(d.high, 4)) == (0.0524, 0.3339)
    assert d.estimate == pytest.approx(0.2)


def test_the_gate_waits_until_each_color_has_enough_reviewed_claims() -> None:
    rule = GateRule(min_reviewed=100)
    v = judge("agreement", outcome("green", 99, 99), outcome("blue", 500, 400), rule)
    assert v.state == "waiting" and v.difference is None
    assert "green has 99 reviewed claims" in v.why and "100 for each color" in v.why
    v = judge("fraud_recall", outcome("green", 100, 90), outcome("blue", 100, 90), rule)
    assert v.state == "waiting" and "no fraud confirmed claims yet for green" in v.why


def test_pass_fail_and_undecided() -> None:
    rule = GateRule(min_reviewed=100, margin=0.02)
    blue = outcome("blue", 2000, 1600, 400, 300)
    same = judge_all(outcome("green", 2000, 1640, 400, 310), blue, rule)
    assert [v.state for v in same] == ["pass", "undecided"]
    worse = judge("agreement", outcome("green", 2000, 1300), blue, rule)
    assert worse.state == "fail" and worse.difference and worse.difference.high < -0.02
    assert "green - blue = -0.150" in worse.why
    with pytest.raises(ValueError, match="unknown measure 'cost'"):
        judge("cost", blue, blue, rule)
    with pytest.raises(ValueError, match="margin"):
        GateRule(margin=1.5)


def test_looking_at_every_step_rarely_passes_a_green_worse_by_the_margin() -> None:
    """Green's true agreement is Blue's minus the margin: a pass is a false pass. Over
    2,000 simulated rollouts looking 20 times each (every 100 reviewed claims), the
    share of rollouts that ever pass stays under alpha."""
    rule = GateRule(min_reviewed=100, margin=0.02, alpha=0.05, max_looks=20)
    naive = GateRule(min_reviewed=100, margin=0.02, alpha=0.05, max_looks=1)
    rng = np.random.default_rng(7)
    runs, looks, step, p_blue = 2000, 20, 100, 0.80
    g = rng.random((runs, looks * step)) < p_blue - rule.margin
    b = rng.random((runs, looks * step)) < p_blue
    g_hits, b_hits = np.cumsum(g, axis=1), np.cumsum(b, axis=1)

    def ever_passes(r: int, gate: GateRule) -> bool:
        return any(judge("agreement", outcome("green", n, int(g_hits[r, n - 1])),
                         outcome("blue", n, int(b_hits[r, n - 1])), gate).state == "pass"
                   for n in range(step, looks * step + 1, step))

    passed = sum(ever_passes(r, rule) for r in range(runs))
    peeking = sum(ever_passes(r, naive) for r in range(runs))
    print(f"\nfalse passes: {passed} of {runs} rollouts ({passed / runs:.1%}); "
          f"each look at 5% without the correction: {peeking} ({peeking / runs:.1%})")
    assert passed / runs < rule.alpha
    assert peeking / runs > rule.alpha  # why the looks are corrected for
