"""The benchmark's goal lines are ratios of rows of one run: checked here on made-up rows,
so a wrong pairing (a row of another section, the load generator counted) shows."""

from __future__ import annotations

from quoteflow.bench.ledger_rows import median_row
from quoteflow.bench.results import (
    BENTO,
    CHAIN,
    CHAIN_NO_LEDGER,
    CHAIN_SQLITE,
    HOP,
    NGINX,
    NO_EXPLANATION,
    RAW,
    Row,
    best_closed,
    goals,
    goals_text,
    half_max_load,
    over_max_load,
    shed_share,
    table,
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


def _over(p99: float, errors: int, shed: int) -> Row:
    return Row(CHAIN, over_max_load(4500), 4400, 3, p99, errors, 1000, {"router": 1.0},
               shed=shed)


def test_overload_goal_is_the_p99_of_all_answers_with_the_share_shed() -> None:
    g = {x["goal"]: x for x in goals([*_rows(), _over(150.0, 330, 330)])}
    over = g["p99 ms of all answers (200 and 503) at 1.5x the chain's closed-loop maximum"]
    assert over["value"] == 150.0 and over["limit"] == 200 and over["met"] is True
    assert "33.0% shed (503), 0 other failures" in over["how"]
    assert over["how"].startswith("open 4500/s (1.5x max)")


def test_an_overload_answer_that_is_no_503_fails_the_goal() -> None:
    # a timeout or a dropped connection is queueing that went wrong, not shedding
    g = {x["goal"]: x for x in goals([*_rows(), _over(150.0, 331, 330)])}
    over = g["p99 ms of all answers (200 and 503) at 1.5x the chain's closed-loop maximum"]
    assert over["met"] is False and "1 other failures" in over["how"]
    slow = {x["goal"]: x for x in goals([*_rows(), _over(900.0, 0, 0)])}
    assert slow["p99 ms of all answers (200 and 503) at 1.5x the chain's closed-loop "
                "maximum"]["met"] is False


def test_no_overload_row_is_not_measured() -> None:
    g = {x["goal"]: x for x in goals(_rows())}
    assert g["p99 ms of all answers (200 and 503) at 1.5x the chain's closed-loop "
             "maximum"]["met"] is None


def test_the_table_shows_the_share_shed_where_the_generator_can_tell() -> None:
    rows = [*_rows(), _over(150.0, 330, 330)]
    assert shed_share(rows[0]) is None  # closed loop: wrk cannot tell a 503 from a 500
    assert shed_share(rows[-1]) == 0.33
    lines = table(rows).splitlines()
    assert "| shed (503) |" in lines[0]
    assert lines[-1].startswith(f"| {CHAIN} | open 4500/s (1.5x max) | 4,400 | 3.00 | 150.00 "
                                "| 330 | 33.0% |")
    assert "| closed 64 | 3,000 | 20.00 | 40.00 | 0 | - |" in lines[3]


def test_the_best_closed_loop_rate_counts_answered_quotes_only() -> None:
    # 503s answered at once are no capacity: 1.5x of them would be no overload
    rows = [Row(CHAIN, "closed 8", 1500, 4, 8, 0, 100),
            Row(CHAIN, "closed 64", 3000, 2, 9, 60, 100)]
    assert best_closed(rows, CHAIN) == 1500


def test_the_explanation_is_priced_against_the_whole_chain() -> None:
    """Issue 26: the graph's extra CPU for the explanation, over the chain's per quote."""
    raw = [Row(RAW, "batch=1 loop", 9000, 0.1, 0.2, 0, 100, {"bench": 80.0}),
           Row(RAW, NO_EXPLANATION, 12000, 0.08, 0.15, 0, 100, {"bench": 55.0})]
    g = {x["goal"]: x for x in goals(_rows() + raw)}
    cost = g["explanation CPU / whole chain CPU per quote"]
    assert cost["value"] == 25 / 550 and cost["met"] is True and cost["op"] == "<="
    missing = {x["goal"]: x for x in goals(_rows() + raw[:1])}
    assert missing["explanation CPU / whole chain CPU per quote"]["met"] is None


def _slices(section: str, load: str, rates: list[float], cpus: list[float],
            p99s: list[float], errors: list[int]) -> list[Row]:
    return [Row(section, load, rate, 1.0, p99, err, 100, {"router": cpu, "loadgen": 5.0})
            for rate, cpu, p99, err in zip(rates, cpus, p99s, errors, strict=True)]


def _paired_rows() -> list[Row]:
    half = half_max_load(1400)
    return [*(r for r in _rows() if r.section != CHAIN_NO_LEDGER),
            median_row(_slices(CHAIN_SQLITE, "closed 64", [3000, 2000, 3600], [300, 400, 270],
                               [40, 50, 45], [0, 10, 0])),
            median_row(_slices(CHAIN_NO_LEDGER, "closed 64", [4000, 2500, 4000],
                               [90, 200, 100], [30, 30, 30], [0, 0, 0])),
            median_row(_slices(CHAIN_SQLITE, half, [1400] * 3, [1, 1, 1], [9.5, 30, 8],
                               [0, 0, 0])),
            median_row(_slices(CHAIN_NO_LEDGER, half, [1400] * 3, [1, 1, 1], [4, 5, 2],
                               [0, 0, 0]))]


def test_a_row_of_slices_holds_their_medians_and_keeps_them() -> None:
    rows = _paired_rows()
    on = rows[-4]
    assert on.rate == 3000 and on.p99_ms == 45 and on.cpu_us == {"router": 300,
                                                                 "loadgen": 5.0}
    assert on.errors == 10 and on.requests == 300  # counts are summed, never a median
    assert [s.rate for s in on.rounds] == [3000, 2000, 3600]  # in round order
    assert "[median of 3 slices]" in table(rows).splitlines()[-4]


def test_the_ledgers_cost_is_judged_round_by_round_against_the_chain_without_it() -> None:
    """Issue 29: quotes/s and router CPU at closed 64, and the p99 of the same offered
    half-max load, each ledger on over ledger off within a round; the median round is
    judged (the medians of each stack's slices would pair different minutes)."""
    g = {x["goal"]: x for x in goals(_paired_rows())}
    q = g["ledger on / ledger off, quotes/s"]
    # 200s a second: the second round's 10% of 503s are no quotes (1,800 / 2,500)
    assert q["rounds"] == [3000 / 4000, 1800 / 2500, 3600 / 4000]
    assert q["value"] == 0.75 and q["limit"] == 0.85 and q["met"] is False
    assert "median of 3 rounds, range 0.72-0.90, met in 1 of 3" in q["how"]
    cpu = g["router CPU per quote, ledger on / ledger off"]
    assert cpu["value"] == 270 / 100 and cpu["op"] == "<=" and cpu["met"] is False
    p99 = g["p99 at half the chain's max, ledger on / ledger off"]
    assert p99["value"] == 8 / 2 and p99["limit"] == 2 and p99["met"] is False
    assert p99["how"].startswith("open 1400/s (half max); median of 3 rounds")
    assert g["ledger on PostgreSQL / ledger off, quotes/s"]["met"] is None  # no such rows


def test_two_plain_rows_give_one_ratio() -> None:
    rows = [Row(CHAIN_SQLITE, "closed 64", 900, 1, 2, 0, 10, {"router": 200.0}),
            Row(CHAIN_NO_LEDGER, "closed 64", 1000, 1, 2, 0, 10, {"router": 100.0})]
    g = {x["goal"]: x for x in goals(rows)}
    assert g["ledger on / ledger off, quotes/s"]["value"] == 0.9
    assert g["ledger on / ledger off, quotes/s"]["met"] is True
    assert "median" not in g["ledger on / ledger off, quotes/s"]["how"]
    assert g["router CPU per quote, ledger on / ledger off"]["value"] == 2.0
