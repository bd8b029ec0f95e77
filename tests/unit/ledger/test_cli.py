"""`quoteflow quotes ...` against both stores, through the real click command."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from quoteflow.cli import main
from tests.unit.ledger.records import T0, opened, record, run

RECS = [record(0, color="blue", premium="100.10"), record(1, color="green", premium="0.30"),
        record(2, color="green", premium="250.00", customer_key="erase-me",
               quoted_at=T0 + dt.timedelta(days=2))]


@pytest.fixture
def filled(ledger_url: str) -> str:
    async def fill() -> None:
        async with opened(ledger_url) as store:
            for r in RECS:
                await store.record(r)
            await store.bind(RECS[1].quote_id, T0 + dt.timedelta(hours=1))
    run(fill())
    return ledger_url


def quotes(*args: str, url: str) -> Result:
    return CliRunner().invoke(main, ["quotes", *args, "--ledger", url], catch_exceptions=False)


def test_show_prints_the_record_and_its_status(filled: str) -> None:
    out = quotes("show", "q000001", url=filled)
    assert out.exit_code == 0, out.output
    shown = json.loads(out.output)
    assert shown["status"] == "bound" and shown["premium"] == "0.30"
    assert shown["reason"] == {"bucket": 1234, "policy_generation": 7, "failover_from": None,
                               "requote": False, "tariff": None, "renewal": None}
    missing = quotes("show", "nope", url=filled)
    assert missing.exit_code == 1 and "no quote nope in the ledger" in missing.output


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_export_writes_the_period_exactly(filled: str, tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"quotes.{fmt}"
    out = quotes("export", "--since", "2026-11-23", "--until", "2026-11-24", "--output",
                 str(path), url=filled)
    assert out.exit_code == 0, out.output
    assert "2 quotes" in out.output
    if fmt == "parquet":
        rows = pq.read_table(path).to_pylist()
        assert rows[0]["features"] == RECS[0].features
        assert rows[1]["quoted_at"] == RECS[1].quoted_at
        assert rows[1]["bound_at"] == T0 + dt.timedelta(hours=1)
    else:
        with path.open() as f:
            rows = list(csv.DictReader(f))
        assert json.loads(rows[0]["features"]) == RECS[0].features
        assert rows[1]["bound_at"] == (T0 + dt.timedelta(hours=1)).isoformat()
    assert [r["quote_id"] for r in rows] == ["q000000", "q000001"]
    assert [r["premium"] for r in rows] == ["100.10", "0.30"]  # exact text, not floats
    assert json.loads(rows[0]["request_json"])["driver_birth_date"] == "1985-04-12"


def test_export_refuses_an_unknown_format_and_an_empty_period(filled: str,
                                                              tmp_path: Path) -> None:
    bad = quotes("export", "--output", str(tmp_path / "q.xlsx"), url=filled)
    assert bad.exit_code == 2 and ".parquet, .csv" in bad.output
    empty = quotes("export", "--since", "2026-11-24", "--until", "2026-11-23", "--output",
                   str(tmp_path / "q.csv"), url=filled)
    assert empty.exit_code == 2 and "is not after --since" in empty.output


def test_stats_by_color(filled: str) -> None:
    out = quotes("stats", "--by", "color", url=filled)
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].split() == ["color", "currency", "quotes", "binds", "conversion",
                                "mean_premium"]
    assert lines[1].split() == ["blue", "EUR", "1", "0", "0.0%", "100.10"]
    assert lines[2].split() == ["green", "EUR", "2", "1", "50.0%", "125.15"]
    bad = quotes("stats", "--by", "customer_key", url=filled)
    assert bad.exit_code == 2 and "cannot group by customer_key" in bad.output


def test_purge_erasure_and_retention(filled: str) -> None:
    out = quotes("purge", "--customer-key", "erase-me", "--yes", url=filled)
    assert out.exit_code == 0 and "deleted 1 quotes" in out.output
    assert quotes("show", "q000002", url=filled).exit_code == 1
    refused = CliRunner().invoke(main, ["quotes", "purge", "--older-than", "0", "--ledger",
                                        filled], input="n\n")
    assert refused.exit_code == 1 and quotes("show", "q000000", url=filled).exit_code == 0
    out = quotes("purge", "--older-than", "0", "--yes", url=filled)
    assert out.exit_code == 0 and "deleted 2 quotes" in out.output
    both = quotes("purge", "--customer-key", "k", "--older-than", "3", "--yes", url=filled)
    assert both.exit_code == 2 and "exactly one of" in both.output


def test_a_missing_sqlite_ledger_is_named_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.sqlite3"
    out = quotes("show", "q1", url=f"sqlite:///{path}")
    assert out.exit_code == 1 and f"no ledger at {path}" in out.output
    assert not path.exists()


@pytest.mark.parametrize("env", ["QUOTEFLOW_CLI_LEDGER_URL", "QUOTEFLOW_LEDGER_URL"])
def test_the_ledger_is_found_from_the_clis_environment(tmp_path: Path, env: str) -> None:
    """The client name `rollout --ledger` reads too; the old name still works."""
    path = tmp_path / f"{env}.sqlite3"
    out = CliRunner(env={env: f"sqlite:///{path}"}).invoke(main, ["quotes", "show", "q1"])
    assert out.exit_code == 1 and f"no ledger at {path}" in out.output
