"""No unrecorded price: a store that cannot commit in time raises LedgerUnavailable
within the caller's deadline, and the same store object recovers by itself."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from quoteflow.ledger import LedgerUnavailable
from quoteflow.ledger.sqlite_file import sqlite_path
from tests.pgserver import PgServer
from tests.unit.ledger.records import T0, opened, record, run


@asynccontextmanager
async def writes_blocked(url: str) -> AsyncIterator[None]:
    """Another session holds the write lock (SQLite) or a table lock (PostgreSQL)."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
        return
    pg = await asyncpg.connect(url)
    tx = pg.transaction()
    await tx.start()
    await pg.execute("LOCK TABLE quotes IN ACCESS EXCLUSIVE MODE")
    try:
        yield
    finally:
        await tx.rollback()
        await pg.close()


async def record_until_it_works(store, rec, within: float) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``rec`` was recorded; fails the test after ``within``."""
    start = time.monotonic()
    while True:
        try:
            await store.record(rec, timeout=1.0)
            return time.monotonic() - start
        except LedgerUnavailable:
            if time.monotonic() - start > within:
                raise
            await asyncio.sleep(0.05)


def test_a_commit_that_cannot_happen_in_time_raises_within_the_timeout(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url, timeout=0.2) as store:
            await store.record(record(1))
            async with writes_blocked(ledger_url):
                start = time.monotonic()
                with pytest.raises(LedgerUnavailable, match="within 200 ms"):
                    await store.record(record(2))
                waited = time.monotonic() - start
                assert 0.19 <= waited < 1.0, waited  # the deadline, plus a loaded machine's lag
            await record_until_it_works(store, record(3), within=5)
            assert await store.get("q000003") is not None
    run(main())


def test_postgresql_stopped_then_started_again_without_a_new_store() -> None:
    server = PgServer()
    server.start()
    try:
        run(_outage(server), timeout=120)
    finally:
        server.destroy()


async def _outage(server: PgServer) -> None:
    async with opened(server.url, timeout=0.5) as store:
        before = [record(i) for i in range(20)]
        await asyncio.gather(*(store.record(r) for r in before))
        await asyncio.to_thread(server.stop, "immediate")  # a crash: no shutdown checkpoint

        start = time.monotonic()
        with pytest.raises(LedgerUnavailable):
            await store.record(record(100))
        assert time.monotonic() - start < 0.5  # refused at once: no waiting for the deadline
        with pytest.raises(LedgerUnavailable):
            await store.get("q000001")
        with pytest.raises(LedgerUnavailable):
            await store.bind("q000001", T0)
        with pytest.raises(LedgerUnavailable):
            await store.find_requote("cust-1", before[0].request_key, T0)

        await asyncio.to_thread(server.start)
        await record_until_it_works(store, record(101), within=10)
        for r in before:  # acknowledged before the crash: still there after it
            assert await store.get(r.quote_id) == r
        assert store.writer_stats.failed_commits >= 1
