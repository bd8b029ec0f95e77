"""Rollout gate decisions on recorded Prometheus answers (no server: the query is a table)."""

from __future__ import annotations

import pytest

from quoteflow import metrics, products
from quoteflow.control.analysis import Gates, live_evidence, shadow_evidence

MOTOR = products.get("motor").shadow_gates
CLAIMS = products.get("claims").shadow_gates


def recorded(answers: dict[str, float | None]):  # type: ignore[no-untyped-def]
    """A Query that answers by the first recorded fragment found in the expression."""
    asked: list[str] = []

    def query(expr: str) -> float | None:
        asked.append(expr)
        for fragment, value in answers.items():
            if fragment in expr:
                return value
        return None
    query.asked = asked  # type: ignore[attr-defined]
    return query


GREEN_OK = {
    'quoteflow_quotes_total{color="green",status=~"5.."}': 0.0,
    'quoteflow_failovers_total{from_color="green"}': 0.0,
    'quoteflow_quotes_total{color="blue",status=~"5.."}': 0.0,
    'quoteflow_failovers_total{from_color="blue"}': 0.0,
    'quoteflow_quotes_total{color="green"}': 500.0,
    'quoteflow_quotes_total{color="blue"}': 4500.0,
    'color="green"}[': 0.012,  # p99 histogram_quantile of Green
    'color="blue"}[': 0.010,
}


def test_too_little_traffic_holds() -> None:
    q = recorded({**GREEN_OK, 'quoteflow_quotes_total{color="green"}': 20.0})
    ev = live_evidence(q, Gates(), 60)
    assert ev.verdict == "hold" and "need 100" in ev.reasons()


def test_healthy_green_passes() -> None:
    ev = live_evidence(recorded(GREEN_OK), Gates(), 60)
    assert ev.verdict == "pass", ev.as_dict()


def test_green_over_the_budget_fails() -> None:
    ev = live_evidence(recorded({**GREEN_OK, 'color="green"}[': 0.35}), Gates(), 60)
    assert ev.verdict == "fail" and "over the 200 ms budget" in ev.reasons()


def test_green_much_slower_than_blue_fails() -> None:
    ev = live_evidence(recorded({**GREEN_OK, 'color="green"}[': 0.05}), Gates(), 60)
    assert ev.verdict == "fail" and "worse" in ev.reasons()


def test_green_errors_beyond_the_margin_fail() -> None:
    q = recorded({**GREEN_OK, 'quoteflow_quotes_total{color="green",status=~"5.."}': 5.0})
    ev = live_evidence(q, Gates(), 60)
    assert ev.verdict == "fail" and "error_ratio" in ev.reasons()


def test_shadow_divergence_needs_data_then_judges() -> None:
    none = shadow_evidence(recorded({}), Gates(), 60, MOTOR)
    assert none.verdict == "hold"
    diverging = recorded({"quoteflow_shadow_premium_ratio_count": 1000.0,
                          'le="1.1"}': 700.0, 'le="0.9"}': 300.0})
    # the inside count (bucket le=1.1 minus le=0.9, one expression) answers 700: 30% outside
    ev = shadow_evidence(diverging, Gates(), 60, MOTOR)
    assert ev.verdict == "fail" and "moved by more than 10%" in ev.reasons()
    assert ev.checks[0].gate == "shadow_premium_ratio"
    calm = recorded({"quoteflow_shadow_premium_ratio_count": 1000.0,
                     'bucket{le="1.1"}[60s])) - sum': 990.0})
    ev = shadow_evidence(calm, Gates(), 60, MOTOR)
    assert ev.verdict == "pass", ev.as_dict()
    # --divergence overrides the headline gate's share
    loose = shadow_evidence(diverging, Gates(divergence_max_share=0.5), 60, MOTOR)
    assert loose.verdict == "pass", loose.as_dict()


AGREE = 'quoteflow_shadow_measure_count{measure="agreement"'
SHIFT = 'quoteflow_shadow_measure_count{measure="probability_shift"'


def test_claims_are_gated_on_agreement_not_premiums() -> None:
    """The claims product's gates read decision agreement and probability shift."""
    q = recorded({AGREE: 1000.0, SHIFT: 1000.0,
                  # agreeing answers: bucket le=1.0 minus le=0.99 (one expression)
                  'agreement",le="1.0"}[60s])) - sum': 800.0,
                  'probability_shift",le="0.1"}': 990.0})
    ev = shadow_evidence(q, Gates(), 60, CLAIMS)
    by_gate = {c.gate: c for c in ev.checks}
    assert by_gate["shadow_agreement"].verdict == "fail"
    assert by_gate["shadow_agreement"].value == pytest.approx(0.2)
    assert "decided otherwise than Blue" in ev.reasons()
    assert by_gate["shadow_probability_shift"].verdict == "pass"
    assert not any("premium" in e for e in q.asked)  # type: ignore[attr-defined]


def test_claims_agreeing_in_shadow_pass_and_no_data_holds() -> None:
    q = recorded({AGREE: 1000.0, SHIFT: 1000.0,
                  'agreement",le="1.0"}[60s])) - sum': 990.0,
                  'probability_shift",le="0.1"}': 995.0})
    assert shadow_evidence(q, Gates(), 60, CLAIMS).verdict == "pass"
    assert shadow_evidence(recorded({}), Gates(), 60, CLAIMS).verdict == "hold"


def test_scope_selects_one_models_series() -> None:
    q = recorded(GREEN_OK)
    live_evidence(q, Gates(), 60, CLAIMS, scope='model="claims"')
    assert q.asked and all('model="claims"' in e for e in q.asked)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", products.names())
def test_every_shadow_gate_bound_is_a_bucket_boundary(name: str) -> None:
    """Prometheus counts (low, high] exactly only on bucket boundaries."""
    product = products.get(name)
    for gate in product.shadow_gates:
        assert gate.measure in product.shadow_measures
        hist = metrics.SHADOW_MEASURES.get(gate.measure, metrics.SHADOW_MEASURE)
        edges = set(hist._upper_bounds)
        assert gate.high in edges and (gate.low is None or gate.low in edges), gate
