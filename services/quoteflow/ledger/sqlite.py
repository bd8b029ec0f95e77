"""The embedded ledger: one SQLite file in WAL mode with synchronous=FULL.

With WAL and synchronous=FULL a COMMIT returns after the log is fsync'd, so a
committed quote survives a crash or power loss. All writes (group-committed inserts,
binds, purges, migrations) go through one connection on one thread, so they are
serialized; reads use a second connection on its own thread, which WAL lets run
beside a commit. One process owns the file: several router replicas need PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import orjson

from quoteflow.ledger import metrics, schema
from quoteflow.ledger.outcomes import BindOutcome, LedgerConflict, LedgerUnavailable, StatRow
from quoteflow.ledger.record import QuoteRecord, Reason, json_default
from quoteflow.ledger.sqlite_file import connect, migrate, ts
from quoteflow.ledger.store import (
    EXPORT_PAGE,
    GroupCommitMixin,
    bind_outcome,
    group_columns,
    stat_rows,
)

T = TypeVar("T")
_SELECT = f"SELECT {schema.SELECT_COLUMNS} FROM quotes"
_ROW = f"({', '.join('?' * len(schema.COLUMNS))})"


@functools.lru_cache(maxsize=64)
def _insert_many(n: int) -> str:
    return f"INSERT INTO quotes ({schema.SELECT_COLUMNS}) VALUES {', '.join([_ROW] * n)}"


_INSERT = _insert_many(1)


def encode(r: QuoteRecord) -> tuple[Any, ...]:
    return (r.quote_id, r.product, ts(r.quoted_at), ts(r.valid_until), r.request_json,
            r.request_sha256, r.customer_key, r.request_key, orjson.dumps(r.features).decode(),
            r.features_schema, r.model_name, r.model_version, r.model_sha256, r.color,
            r.reason.model_dump_json(), str(r.premium), r.currency,
            orjson.dumps(r.breakdown, default=json_default,
                         option=orjson.OPT_SORT_KEYS).decode(),
            r.router_instance, None if r.bound_at is None else ts(r.bound_at), r.trace_id)


def decode(row: Sequence[Any]) -> QuoteRecord:
    v = dict(zip(schema.COLUMNS, row, strict=True))
    for k in ("quoted_at", "valid_until", "bound_at"):
        v[k] = None if v[k] is None else dt.datetime.fromisoformat(v[k])
    v["features"] = orjson.loads(v["features"])
    v["reason"] = Reason.model_validate_json(v["reason"])
    v["premium"] = Decimal(v["premium"])
    v["breakdown"] = orjson.loads(v["breakdown"])
    return QuoteRecord.model_construct(**v)  # written by encode(): already validated


class SqliteStore(GroupCommitMixin):
    kind = "sqlite"

    def __init__(self, path: Path, *, create: bool = True, batch_max: int = 512,
                 timeout: float | None = 0.1, busy_timeout: float = 1.0,
                 commit_interval: float = 0.0) -> None:
        self.path = path
        self.create = create
        self.batch_max = batch_max
        self.commit_interval = commit_interval
        self.timeout = timeout
        self.busy_timeout = busy_timeout
        self._wexec = ThreadPoolExecutor(1, thread_name_prefix="ledger-sqlite-w")
        self._rexec = ThreadPoolExecutor(1, thread_name_prefix="ledger-sqlite-r")
        self._w: sqlite3.Connection | None = None
        self._r: sqlite3.Connection | None = None
        self._inline: sqlite3.Connection | None = None

    # --- lifecycle ------------------------------------------------------------------
    async def open(self) -> None:
        if not self.create and not self.path.exists():
            raise FileNotFoundError(f"no ledger at {self.path} (quoteflow up creates it; "
                                    "or pass --ledger)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._w = await self._on(self._wexec, self._connect, True)
        await self._on(self._wexec, self._migrate)
        self._r = await self._on(self._rexec, self._connect, False)
        # the re-quote lookup, on every quote: an indexed point read that WAL never
        # blocks, answered from the page cache in microseconds, so it runs on the event
        # loop itself (a thread crossing per quote cost the router ~200 us of CPU)
        self._inline = connect(self.path, writer=False, busy_timeout=0.05)
        self._start_writer(self._commit_batch)

    async def close(self) -> None:
        await self._stop_writer()
        for conn, ex in ((self._w, self._wexec), (self._r, self._rexec)):
            if conn is not None:
                await self._on(ex, conn.close)
            ex.shutdown(wait=True)
        if self._inline is not None:
            self._inline.close()
        self._w = self._r = self._inline = None

    def _durability_sync(self) -> dict[str, str]:
        assert self._w is not None
        sync = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
        return {"journal_mode": self._w.execute("PRAGMA journal_mode").fetchone()[0],
                "synchronous": sync[self._w.execute("PRAGMA synchronous").fetchone()[0]]}

    async def durability(self) -> dict[str, str]:
        """What makes a commit durable, as the writer connection runs it."""
        return await self._on(self._wexec, self._durability_sync)

    def _connect(self, writer: bool) -> sqlite3.Connection:
        return connect(self.path, writer=writer, busy_timeout=self.busy_timeout)

    def _migrate(self) -> None:
        assert self._w is not None
        migrate(self._w, schema.SQLITE, f"ledger {self.path}")

    async def _on(self, ex: ThreadPoolExecutor, fn: Callable[..., T], *args: Any,
                  timeout: float | None = None) -> T:
        fut = asyncio.get_running_loop().run_in_executor(ex, fn, *args)
        try:
            async with asyncio.timeout(timeout):
                return await fut
        except TimeoutError:
            metrics.ERRORS.labels(self.kind, "read").inc()
            raise LedgerUnavailable(f"ledger ({self.path}) did not answer within "
                                    f"{timeout} s") from None
        except sqlite3.OperationalError as e:  # locked, disk I/O error, disk full
            metrics.ERRORS.labels(self.kind, "read").inc()
            raise LedgerUnavailable(f"ledger ({self.path}): {e}") from e

    # --- writes -----------------------------------------------------------------------
    def _commit_rows_sync(self, rows: list[tuple[Any, ...]]) -> list[Exception | None]:
        assert self._w is not None
        c = self._w
        per = c.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(schema.COLUMNS)
        chunks = [rows[i:i + per] for i in range(0, len(rows), per)]
        try:
            # One multi-row INSERT is one statement: atomic and committed on its own
            # (autocommit), so a batch costs one sqlite3 step, one fsync and one GIL
            # hand-back to the event loop, not one per row plus BEGIN and COMMIT.
            if len(chunks) > 1:  # past SQLite's parameter limit: one transaction still
                c.execute("BEGIN IMMEDIATE")
            for chunk in chunks:
                c.execute(_insert_many(len(chunk)), [v for r in chunk for v in r])
            if c.in_transaction:
                c.execute("COMMIT")
            return [None] * len(rows)
        except sqlite3.IntegrityError:  # nothing of it was written: isolate the offenders
            if c.in_transaction:
                c.execute("ROLLBACK")
        c.execute("BEGIN IMMEDIATE")
        try:
            errors: list[Exception | None] = []
            for r in rows:
                c.execute("SAVEPOINT one")
                try:
                    c.execute(_INSERT, r)
                    errors.append(None)
                except sqlite3.IntegrityError:
                    errors.append(LedgerConflict(f"quote id {r[0]} is already recorded"))
                c.execute("RELEASE one")
            c.execute("COMMIT")
        except BaseException:
            if c.in_transaction:
                c.execute("ROLLBACK")
            raise
        return errors

    async def _commit_batch(self, recs: list[QuoteRecord]) -> list[Exception | None]:
        # encoded here, on the event loop: Python work on the writer thread would hold
        # the GIL against the loop while the batch waits for it
        rows = [encode(r) for r in recs]
        return await asyncio.get_running_loop().run_in_executor(
            self._wexec, self._commit_rows_sync, rows)

    def _bind_sync(self, quote_id: str, now: str) -> tuple[Any, bool]:
        assert self._w is not None
        cur = self._w.execute("UPDATE quotes SET bound_at = ? WHERE quote_id = ? AND "
                              "bound_at IS NULL AND valid_until >= ?", (now, quote_id, now))
        row = self._w.execute(_SELECT + " WHERE quote_id = ?", (quote_id,)).fetchone()
        return row, cur.rowcount == 1

    async def bind(self, quote_id: str, now: dt.datetime) -> BindOutcome:
        row, updated = await self._on(self._wexec, self._bind_sync, quote_id, ts(now),
                                      timeout=self.timeout)
        return bind_outcome(quote_id, None if row is None else decode(row), updated)

    def _delete(self, where: str, arg: str) -> int:
        assert self._w is not None
        n = self._w.execute("DELETE FROM quotes WHERE " + where, (arg,)).rowcount
        # the WAL still holds the rows' old pages: copy back and empty it (best effort:
        # a reader in the middle of a read keeps it until the next checkpoint)
        self._w.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    async def purge_customer(self, customer_key: str) -> int:
        return await self._on(self._wexec, self._delete, "customer_key = ?", customer_key)

    async def purge_older_than(self, cutoff: dt.datetime) -> int:
        return await self._on(self._wexec, self._delete, "quoted_at < ?", ts(cutoff))

    # --- reads ------------------------------------------------------------------------
    def _fetch(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        assert self._r is not None
        return self._r.execute(sql, args).fetchall()

    async def _one(self, sql: str, *args: Any) -> QuoteRecord | None:
        rows = await self._on(self._rexec, self._fetch, sql, args, timeout=self.timeout)
        return decode(rows[0]) if rows else None

    async def get(self, quote_id: str) -> QuoteRecord | None:
        return await self._one(_SELECT + " WHERE quote_id = ?", quote_id)

    async def find_requote(self, customer_key: str, request_key: str,
                           now: dt.datetime) -> QuoteRecord | None:
        if self._inline is None:
            raise RuntimeError("ledger store used before open()")
        try:
            rows = self._inline.execute(
                _SELECT + " WHERE customer_key = ? AND request_key = ? AND valid_until >= ? "
                "ORDER BY quoted_at DESC LIMIT 1", (customer_key, request_key, ts(now))
            ).fetchall()
        except sqlite3.OperationalError as e:  # locked past the short busy timeout, I/O
            metrics.ERRORS.labels(self.kind, "read").inc()
            raise LedgerUnavailable(f"ledger ({self.path}): {e}") from e
        return decode(rows[0]) if rows else None

    async def export(self, since: dt.datetime,
                     until: dt.datetime) -> AsyncIterator[QuoteRecord]:
        """Records quoted in [since, until), oldest first, a page at a time."""
        after = (ts(since), "")
        while True:
            rows = await self._on(
                self._rexec, self._fetch,
                _SELECT + " WHERE (quoted_at, quote_id) > (?, ?) AND quoted_at >= ? AND "
                "quoted_at < ? ORDER BY quoted_at, quote_id LIMIT ?",
                (*after, ts(since), ts(until), EXPORT_PAGE))
            for row in rows:
                yield decode(row)
            if len(rows) < EXPORT_PAGE:
                return
            after = (rows[-1][2], rows[-1][0])

    async def stats(self, by: Sequence[str], since: dt.datetime | None = None,
                    until: dt.datetime | None = None) -> list[StatRow]:
        cols = group_columns(by)
        keys = ", ".join([*cols, "currency"])
        sql = (f"SELECT {keys}, COUNT(*), COUNT(bound_at), AVG(CAST(premium AS REAL)) "
               "FROM quotes WHERE quoted_at >= ? AND quoted_at < ? "
               f"GROUP BY {keys} ORDER BY {keys}")
        lo = ts(since) if since else ""
        hi = ts(until) if until else "9999"
        return stat_rows(cols, await self._on(self._rexec, self._fetch, sql, (lo, hi)))
