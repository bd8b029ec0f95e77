"""The benchmark's goal lines are ratios of rows of one run: checked here on made-up rows,
so a wrong pairing (a row of another section, the load generator counted) shows."""

from __future__ import annotations

from quoteflow.bench.results import (
    BENTO,
    CHAIN,
    CHAIN_NO_LEDGER,
    HOP,
    NGINX,
    Row,
    goals,
    goals_text,
    half_max_load,
)


def _rows(half_errors: int = 0) -> list[Row]:
    chain_cpu = {"router": 300.0, "preprocess": 100.0, "inference-blue": 120.0,
                 "inference-green": 30.0, "loadgen": 999.0}
    return [
        Row(CHAIN, "closed 8", 1500, 4, 8, 0, 100, dict(chain_cpu)),
        Row(CHAIN, "closed 64", 3000, 20, 40, 0, 100, dict(chain_cpu)),
        Row(CHAIN, half_max_load(1500), 1500, 2, 9.5, half_errors, 100, dict(chain_cpu)),
        Row(CHAIN_NO_LEDGER, "closed 64", 4000, 15, 30, 0, 100, {"router": 90.0}),
        Row(HOP, "closed 64", 7000, 8, 10, 0, 100, {"inference-blue": 125.0, "loadgen": 5.0}),
        Row(NGINX, "closed 64", 8000, 8, 16, 0, 100, {"nginx": 25.0, "inference-blue": 110.0}),
        Row(BENTO, "closed 8", 600, 10, 100, 0, 100, {"bentoml": 1700.0}),
    ]


def test_issue_20_ratios_pair_the_right_rows() -> None:
    g = {x["goal"]: x for x in goals(_rows())}
    assert g["preprocess CPU per quote / inference hop CPU per request"]["value"] == 100 / 125
    assert g["preprocess CPU per quote / inference hop CPU per request"]["met"] is True
    assert g["router CPU per quote / nginx CPU per request"]["value"] == 300 / 25
    assert g["router CPU per quote, ledger off / nginx CPU per request"]["value"] == 90 / 25
    # the whole chain: every serving process, never the load generator
    assert g["whole chain CPU per quote / inference hop CPU per request"]["value"] == 550 / 125
    assert g["full chain / BentoML one hop"]["value"] == 3000 / 600
    assert g["full chain / BentoML one hop"]["met"] is False
    assert g["p99 ms at half the chain's closed-loop maximum"]["met"] is True


def test_a_failed_quote_at_half_max_fails_the_latency_goal() -> None:
    g = {x["goal"]: x for x in goals(_rows(half_errors=1))}
    half = g["p99 ms at half the chain's closed-loop maximum"]
    assert half["value"] == 9.5 and half["met"] is False
    assert "1 failed" in half["how"]


def test_a_missing_row_is_not_measured_and_said_so() -> None:
    rows = [r for r in _rows() if r.section != NGINX]
    text = goals_text(goals(rows))
    assert "- router CPU per quote / nginx CPU per request: n/a (goal <= 3) not measured" in text
    assert "- full chain / BentoML one hop: 5.00 (goal >= 6) NOT MET" in text
