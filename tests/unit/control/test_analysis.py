"""Rollout gate decisions on recorded Prometheus answers (no server: the query is a table)."""

from __future__ import annotations

from quoteflow.control.analysis import Gates, live_evidence, shadow_evidence


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
    none = shadow_evidence(recorded({}), Gates(), 60)
    assert none.verdict == "hold"
    diverging = recorded({"quoteflow_shadow_premium_ratio_count": 1000.0,
                          'le="1.1"}': 700.0, 'le="0.9"}': 300.0})
    # the inside count (bucket le=1.1 minus le=0.9, one expression) answers 700: 30% outside
    ev = shadow_evidence(diverging, Gates(), 60)
    assert ev.verdict == "fail" and "moved by more than 10%" in ev.reasons()
    calm = recorded({"quoteflow_shadow_premium_ratio_count": 1000.0,
                     'bucket{le="1.1"}[60s])) - sum': 990.0})
    ev = shadow_evidence(calm, Gates(), 60)
    assert ev.verdict == "pass", ev.as_dict()
