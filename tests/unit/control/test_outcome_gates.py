"""The outcome gates read real sources: a ledger (SQLite and PostgreSQL) and a desk's
/metrics served over HTTP."""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from quoteflow.control.conversion import ConversionRule
from quoteflow.control.outcome_gates import (
    conversion_checks,
    desk_outcomes,
    looks_tested,
    reviewer_checks,
)
from quoteflow.desk import outcome_metrics
from quoteflow.desk.outcome_gate import GateRule
from quoteflow.desk.outcomes import Outcome
from tests.pgserver import pg_database, pg_server  # noqa: F401  (fixtures)
from tests.unit.ledger.records import T0, opened, record, run

VERSIONS = {"blue": "3", "green": "4"}
RULE = ConversionRule(min_binds=5, horizon_seconds=3600)
NOW = T0 + dt.timedelta(hours=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite3"
    return str(request.getfixturevalue("pg_database"))


def fill(url: str, green_rate: float, n: int = 400) -> None:
    """n quotes a color a minute apart from T0; binds 10 minutes after their quote,
    but every 10th bind of Blue's comes 2 hours late (past the horizon)."""
    async def main() -> None:
        async with opened(url) as store:
            for i in range(2 * n):
                color = "green" if i % 2 else "blue"
                at = T0 + dt.timedelta(seconds=15 * i)
                rate = green_rate if color == "green" else 0.2
                bound = (i // 2) % round(1 / rate) == 0
                late = color == "blue" and bound and (i // 2) % 50 == 0
                await store.record(record(
                    i, quoted_at=at, customer_key=None, color=color,
                    model_version=VERSIONS[color],
                    premium="500.00" if color == "green" else "450.00",
                    bound_at=(at + dt.timedelta(minutes=130 if late else 10)) if bound
                    else None))
            # another version and another model's quotes are not this rollout's
            await store.record(record(9_000, quoted_at=T0, color="green", model_version="2"))
            await store.record(record(9_001, quoted_at=T0, color="blue", model_name="claims"))
    run(main())


def test_conversion_reads_both_stores_and_fails_a_green_converting_worse(
        ledger_url: str) -> None:
    fill(ledger_url, green_rate=0.1)
    checks = conversion_checks(ledger_url, "motor", VERSIONS, T0, NOW, RULE, [])
    conv, premium = checks
    assert conv.gate == "conversion" and conv.verdict == "fail", conv.note
    assert conv.value is not None and -0.6 < conv.value < -0.4
    assert "Green 10.00% of 400" in conv.note and "p " in conv.note
    assert "bound within 1:00:00" in conv.note
    assert premium.gate == "mean_premium" and "Green 500.00 EUR, Blue 450.00 EUR" in premium.note


def test_a_bind_after_the_horizon_is_no_conversion(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    fill(url, green_rate=0.2)
    conv = conversion_checks(url, "motor", VERSIONS, T0, NOW, RULE, [])[0]
    # Blue's 80 binds less its 8 late ones; Green's 80 all in time
    assert "Blue 18.00% of 400" in conv.note and "Green 20.00% of 400" in conv.note
    assert conv.verdict == "hold" and "cannot tell yet" in conv.note


def test_an_unreadable_or_missing_ledger_holds_and_says_so(tmp_path: Path) -> None:
    missing = conversion_checks(f"sqlite:///{tmp_path}/none.sqlite3", "motor", VERSIONS,
                                T0, NOW, RULE, [])
    assert [c.verdict for c in missing] == ["hold"]
    assert "cannot read the ledger" in missing[0].note
    nothing = conversion_checks(None, "motor", VERSIONS, T0, NOW, RULE, [])
    assert nothing[0].verdict == "hold" and "--ledger" in nothing[0].note
    young = conversion_checks(f"sqlite:///{tmp_path}/none.sqlite3", "motor", VERSIONS,
                              T0, T0 + dt.timedelta(minutes=5), RULE, [])
    assert young[0].verdict == "hold" and "old yet" in young[0].note


def test_looks_are_counted_from_the_history() -> None:
    history = [{"evidence": {"checks": [{"gate": "conversion", "value": -0.01}]}},
               {"evidence": {"checks": [{"gate": "conversion", "value": None}]}},
               {"evidence": None},
               {"evidence": {"checks": [{"gate": "conversion", "value": 0.02}]}}]
    assert looks_tested(history, "conversion") == 2
    assert looks_tested(history, "reviewer_agreement") == 0


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[str, outcome_metrics.OutcomeCollector]]:
    reg, collector = outcome_metrics.registry()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(reg)
            self.send_response(200 if self.path == "/metrics" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", collector
    finally:
        server.shutdown()


def test_reviewer_gate_reads_the_desk_and_judges(
        desk: tuple[str, outcome_metrics.OutcomeCollector]) -> None:
    url, collector = desk
    rule = GateRule(min_reviewed=200, margin=0.02)
    collector.outcomes = [Outcome("3", "blue", 150, 120, 30, 25, 20, 0.0),
                          Outcome("4", "green", 90, 70, 20, 15, 12, 0.0)]
    got = desk_outcomes(url)
    assert got[("4", "green")].reviewed == 90 and got[("3", "blue")].fraud_caught == 20
    waiting = reviewer_checks(url, VERSIONS, rule, [])
    assert [c.verdict for c in waiting] == ["hold", "hold"]
    assert "the gate needs 200 for each color" in waiting[0].note
    collector.outcomes = [Outcome("3", "blue", 5000, 4500, 900, 800, 700, 0.0),
                          Outcome("4", "green", 5000, 3500, 900, 800, 400, 0.0)]
    worse = reviewer_checks(url, VERSIONS, rule, [])
    assert [c.verdict for c in worse] == ["fail", "fail"]
    assert worse[0].value == pytest.approx(-0.2)


def test_reviewer_gate_holds_when_the_desk_cannot_be_read() -> None:
    checks = reviewer_checks("http://127.0.0.1:9", VERSIONS, GateRule(), [])
    assert checks[0].verdict == "hold" and "cannot read the desk" in checks[0].note
    assert reviewer_checks(None, VERSIONS, GateRule(), [])[0].verdict == "hold"


def test_sources_pick_the_products_gate_and_say_when_skipped() -> None:
    from quoteflow.control.outcome_gates import OutcomeSources, live_since
    from quoteflow.control.rollout_state import RolloutState

    state = RolloutState(id="r1", model="motor", blue_version="3", green_version="4",
                         steps=[50, 100], interval_seconds=4, confirm_each_step=False,
                         gates={}, started_at="2026-12-02T10:00:00+00:00")
    assert live_since(state) == dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)
    state.history.append({"time": "2026-12-02T10:00:05+00:00", "step": -1, "decision": "pass"})
    assert live_since(state) == dt.datetime(2026, 12, 2, 10, 0, 5, tzinfo=dt.UTC)
    assert OutcomeSources().checks(None, state) == []
    skipped = OutcomeSources(skip=True).checks("conversion", state)
    assert skipped[0].verdict == "pass" and "not judged" in skipped[0].note
    held = OutcomeSources().checks("conversion", state)
    assert held[0].verdict == "hold" and "--ledger" in held[0].note
    with pytest.raises(ValueError, match="unknown outcome gate"):
        OutcomeSources().checks("vibes", state)
