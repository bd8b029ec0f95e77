"""SQLite specifics of the group commit: a batch is one multi-row INSERT, split into
several statements of one transaction past SQLite's parameter limit; times are kept as
fixed-width UTC text."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

from quoteflow.ledger import LedgerConflict
from quoteflow.ledger.schema import COLUMNS
from quoteflow.ledger.sqlite import SqliteStore
from quoteflow.ledger.sqlite_file import ts
from tests.unit.ledger.records import T0, opened, record, run


def test_a_batch_past_the_parameter_limit_is_one_transaction_of_several_statements(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.sqlite3'}"

    async def main() -> None:
        async with opened(url) as store:
            assert isinstance(store, SqliteStore) and store._w is not None
            # three rows a statement: a batch of 64 takes many statements
            store._w.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 3 * len(COLUMNS) + 1)
            recs = [record(i) for i in range(64)]
            await asyncio.gather(*(store.record(r) for r in recs))
            assert store.writer_stats.records == 64
            assert store.writer_stats.commits < 64
            # a duplicate in a multi-statement batch fails alone, the rest is committed
            again = await asyncio.gather(*(store.record(record(i)) for i in (100, 5, 101)),
                                         return_exceptions=True)
            assert again[0] is None and again[2] is None
            assert isinstance(again[1], LedgerConflict)
        async with opened(url) as store:  # what is on disk
            got = [r async for r in store.export(T0 - dt.timedelta(days=1),
                                                 T0 + dt.timedelta(days=1))]
            assert len(got) == 66
            assert {r.quote_id for r in got} >= {r.quote_id for r in recs}
    run(main())


def test_times_are_fixed_width_utc_text_that_sorts_as_time_does() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    t = dt.datetime(2026, 12, 1, 10, 0, 0, tzinfo=dt.UTC)
    assert ts(t) == "2026-12-01T10:00:00.000000Z"  # microseconds even when zero
    assert ts(t.astimezone(paris)) == "2026-12-01T10:00:00.000000Z"
    assert ts(t + dt.timedelta(microseconds=7)) == "2026-12-01T10:00:00.000007Z"
    later = [t + dt.timedelta(microseconds=k * 999_983) for k in range(1000)]
    assert sorted(ts(x) for x in reversed(later)) == [ts(x) for x in later]
    assert all(ts(x) == x.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for x in later)
