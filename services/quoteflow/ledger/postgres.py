"""The cluster ledger: PostgreSQL through asyncpg, shared by every router replica.

Group-committed inserts use one dedicated writer connection with
``synchronous_commit=on`` forced per session (a COMMIT returns after the WAL is
flushed, whatever the server's default); reads, binds and purges use a small pool.
When the server goes away the writer drops its connection and reconnects on a later
batch (at most one attempt per ``retry_interval``, so an outage costs fast 503s and
no connect storm); the pool replaces broken connections and a read is retried once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeAlias, TypeVar

import asyncpg
import orjson
from asyncpg.pool import PoolConnectionProxy

from quoteflow.ledger import metrics, schema
from quoteflow.ledger.batchedlookup import BatchedLookup
from quoteflow.ledger.outcomes import BindOutcome, LedgerConflict, LedgerUnavailable, StatRow
from quoteflow.ledger.record import QuoteRecord, Reason, json_default, utc
from quoteflow.ledger.store import (
    EXPORT_PAGE,
    GroupCommitMixin,
    bind_outcome,
    group_columns,
    stat_rows,
)

T = TypeVar("T")
# what the pool lends: a proxy with the Connection's query methods, not a Connection
Pooled: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
_INSERT = (f"INSERT INTO quotes ({schema.SELECT_COLUMNS}) VALUES "
           f"({', '.join(f'${i + 1}' for i in range(len(schema.COLUMNS)))})")
_SELECT = f"SELECT {schema.SELECT_COLUMNS} FROM quotes"
# re-quote lookups, batched (BatchedLookup): per key, the one-key read's index scan
_REQUOTES = (
    f"SELECT k.i AS lookup_index, q.* FROM unnest($1::text[], $2::text[], "
    f"$3::timestamptz[]) WITH ORDINALITY AS k(c, r, n, i) CROSS JOIN LATERAL ("
    f"{_SELECT} WHERE customer_key = k.c AND request_key = k.r AND valid_until >= k.n "
    f"ORDER BY quoted_at DESC LIMIT 1) q")
RequoteKey: TypeAlias = tuple[str, str, dt.datetime]  # customer, request key, instant
_SESSION = {"synchronous_commit": "on", "application_name": "quoteflow-ledger"}
_MIGRATION_LOCK = 0x71F10E  # pg_advisory_xact_lock key: one replica migrates at a time
# what a lost or refused connection raises (the store is down, not the query wrong)
_GONE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError)


def encode(r: QuoteRecord) -> tuple[Any, ...]:
    return (r.quote_id, r.product, r.quoted_at, r.valid_until, r.request_json,
            r.request_sha256, r.customer_key, r.request_key, r.features, r.features_schema,
            r.model_name, r.model_version, r.model_sha256, r.color, r.reason.model_dump_json(),
            r.premium, r.currency,
            orjson.dumps(r.breakdown, default=json_default).decode(), r.router_instance,
            r.bound_at, r.trace_id)


def decode(row: asyncpg.Record | Mapping[str, Any]) -> QuoteRecord:
    v = dict(row.items())
    v["reason"] = Reason.model_validate_json(v["reason"])
    v["breakdown"] = orjson.loads(v["breakdown"])
    v["premium"] = Decimal(v["premium"])
    v["features"] = list(v["features"])
    return QuoteRecord.model_construct(**v)  # written by encode(): already validated


async def migrate(conn: asyncpg.Connection, migrations: list[schema.Migration], where: str,
                  table: str = "schema_migrations", lock: int = _MIGRATION_LOCK) -> None:
    """Apply the pending numbered migrations in one transaction, one replica at a time
    (an advisory lock), recorded in ``table`` (each store its own table)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock)
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (version integer "
                           "PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT "
                           "NULL DEFAULT now())")
        applied = {r[0] for r in await conn.fetch(f"SELECT version FROM {table}")}
        for version, name, statements in schema.pending(migrations, applied, where):
            for s in statements:
                await conn.execute(s)
            await conn.execute(f"INSERT INTO {table} (version, name) VALUES ($1, $2)",
                               version, name)


class PostgresStore(GroupCommitMixin):
    kind = "postgresql"

    def __init__(self, url: str, *, batch_max: int = 512, timeout: float | None = 0.1,
                 pool_size: int = 4, connect_timeout: float = 2.0,
                 command_timeout: float = 5.0, retry_interval: float = 0.1,
                 commit_interval: float = 0.0) -> None:
        self.url = url
        self.batch_max = batch_max
        self.commit_interval = commit_interval
        self.timeout = timeout
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.retry_interval = retry_interval
        self._pool: asyncpg.Pool | None = None
        self._w: asyncpg.Connection | None = None
        self._last_failure = (0.0, "")  # (monotonic time, error) of the last connect
        # one pooled connection kept for the other reads (GET, bind, export)
        self._requotes: BatchedLookup[RequoteKey, QuoteRecord | None] = BatchedLookup(
            self._find_requotes, in_flight=max(1, pool_size - 1))

    # --- lifecycle ------------------------------------------------------------------
    async def open(self) -> None:
        try:
            conn = await self._writer()
            await self._migrate(conn)
            self._pool = await asyncpg.create_pool(
                # min_size 0: no background reconnect loop (and its tracebacks) in an
                # outage; a read after one connects on demand
                self.url, min_size=0, max_size=self.pool_size, timeout=self.connect_timeout,
                server_settings=_SESSION)
        except BaseException as e:
            if self._w is not None:
                self._w.terminate()
                self._w = None
            if isinstance(e, _GONE):
                raise LedgerUnavailable(f"ledger PostgreSQL unreachable: {e}") from e
            raise
        self._start_writer(self._commit_batch)

    async def durability(self) -> dict[str, str]:
        """What makes a commit durable, as the store's sessions run it."""
        async def show(c: Pooled) -> dict[str, str]:
            return {k: await c.fetchval(f"SHOW {k}") for k in ("synchronous_commit", "fsync")}
        return await self._pooled(show)

    async def close(self) -> None:
        await self._stop_writer()
        await self._requotes.close()
        if self._pool is not None:
            await self._pool.close()
        if self._w is not None:
            await self._w.close()
        self._pool = self._w = None

    async def _writer(self) -> asyncpg.Connection:
        if self._w is not None and not self._w.is_closed():
            return self._w
        since, error = self._last_failure
        if time.monotonic() - since < self.retry_interval:
            raise LedgerUnavailable(f"PostgreSQL unreachable ({error}); reconnecting")
        try:
            self._w = await asyncpg.connect(self.url, timeout=self.connect_timeout,
                                            command_timeout=self.command_timeout,
                                            server_settings=_SESSION)
        except _GONE as e:
            self._last_failure = (time.monotonic(), str(e) or type(e).__name__)
            raise
        return self._w

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        await migrate(conn, schema.POSTGRESQL, "ledger PostgreSQL database")

    # --- writes -----------------------------------------------------------------------
    async def _commit_batch(self, recs: list[QuoteRecord]) -> list[Exception | None]:
        conn = await self._writer()
        rows = [encode(r) for r in recs]
        try:
            try:
                async with conn.transaction():
                    await conn.executemany(_INSERT, rows)
                return [None] * len(rows)
            except asyncpg.UniqueViolationError:  # isolate the offending row(s)
                return await self._commit_isolating(conn, rows)
        except BaseException:
            self._w = None  # whatever happened, the next batch starts on a fresh session
            conn.terminate()
            raise

    async def _commit_isolating(self, conn: asyncpg.Connection,
                                rows: list[tuple[Any, ...]]) -> list[Exception | None]:
        errors: list[Exception | None] = []
        async with conn.transaction():
            for row in rows:
                try:
                    async with conn.transaction():  # a savepoint per row
                        await conn.execute(_INSERT, *row)
                    errors.append(None)
                except asyncpg.UniqueViolationError:
                    errors.append(LedgerConflict(f"quote id {row[0]} is already recorded"))
        return errors

    async def _pooled(self, fn: Callable[[Pooled], Awaitable[T]],
                      timeout: float | None = None) -> T:
        """Run ``fn`` on a pooled connection, inside ``timeout`` seconds in all; a lost
        connection (the pool's idle ones die with a server restart) is retried once."""
        assert self._pool is not None, "ledger store used before open()"
        try:
            async with asyncio.timeout(timeout):
                for attempt in (1, 2):
                    try:
                        async with self._pool.acquire(timeout=self.connect_timeout) as conn:
                            return await fn(conn)
                    except _GONE:
                        if attempt == 2:
                            raise
        except TimeoutError as e:  # the driver's own timeouts say nothing either
            raise self._no_answer(timeout) from e
        except _GONE as e:
            metrics.ERRORS.labels(self.kind, "read").inc()
            raise LedgerUnavailable(f"ledger PostgreSQL unavailable: "
                                    f"{str(e) or type(e).__name__}") from e
        raise AssertionError("unreachable")

    async def bind(self, quote_id: str, now: dt.datetime) -> BindOutcome:
        now = utc(now)

        async def run(c: Pooled) -> tuple[asyncpg.Record | None, bool]:
            status = await c.execute("UPDATE quotes SET bound_at = $2 WHERE quote_id = $1 AND "
                                     "bound_at IS NULL AND valid_until >= $2", quote_id, now)
            return await c.fetchrow(_SELECT + " WHERE quote_id = $1", quote_id), \
                status == "UPDATE 1"
        row, updated = await self._pooled(run, self.timeout)
        return bind_outcome(quote_id, None if row is None else decode(row), updated)

    async def _delete(self, where: str, arg: Any) -> int:
        status = await self._pooled(lambda c: c.execute("DELETE FROM quotes WHERE " + where,
                                                        arg))
        return int(status.split()[-1])

    async def purge_customer(self, customer_key: str) -> int:
        return await self._delete("customer_key = $1", customer_key)

    async def purge_older_than(self, cutoff: dt.datetime) -> int:
        return await self._delete("quoted_at < $1", utc(cutoff))

    # --- reads ------------------------------------------------------------------------
    async def _one(self, sql: str, *args: Any) -> QuoteRecord | None:
        row = await self._pooled(lambda c: c.fetchrow(sql, *args), self.timeout)
        return None if row is None else decode(row)

    async def get(self, quote_id: str) -> QuoteRecord | None:
        return await self._one(_SELECT + " WHERE quote_id = $1", quote_id)

    async def find_requote(self, customer_key: str, request_key: str,
                           now: dt.datetime) -> QuoteRecord | None:
        try:
            async with asyncio.timeout(self.timeout):  # in the queue or in the query
                return await self._requotes.get((customer_key, request_key, utc(now)))
        except TimeoutError:
            raise self._no_answer(self.timeout) from None

    def _no_answer(self, timeout: float | None) -> LedgerUnavailable:
        """A read past its budget: counted, and said in so many words."""
        metrics.ERRORS.labels(self.kind, "read").inc()
        return LedgerUnavailable(f"ledger PostgreSQL did not answer within {timeout} s")

    async def _find_requotes(self, keys: list[RequoteKey]) -> list[QuoteRecord | None]:
        """Each key's newest quote still valid at its own instant: one query for all."""
        found: list[QuoteRecord | None] = [None] * len(keys)
        customers, requests, instants = (list(col) for col in zip(*keys, strict=True))
        rows = await self._pooled(lambda c: c.fetch(_REQUOTES, customers, requests,
                                                    instants), self.timeout)
        for row in rows:
            v = dict(row.items())
            found[v.pop("lookup_index") - 1] = decode(v)
        return found

    async def export(self, since: dt.datetime,
                     until: dt.datetime) -> AsyncIterator[QuoteRecord]:
        """Records quoted in [since, until), oldest first, a page at a time."""
        since, until = utc(since), utc(until)
        after: tuple[dt.datetime, str] = (since, "")
        sql = (_SELECT + " WHERE (quoted_at, quote_id) > ($1, $2) AND quoted_at >= $3 AND "
               "quoted_at < $4 ORDER BY quoted_at, quote_id LIMIT $5")
        while True:
            args = (*after, since, until, EXPORT_PAGE)
            rows = await self._pooled(lambda c: c.fetch(sql, *args))  # noqa: B023 (awaited here)
            for row in rows:
                yield decode(row)
            if len(rows) < EXPORT_PAGE:
                return
            after = (rows[-1]["quoted_at"], rows[-1]["quote_id"])

    async def stats(self, by: Sequence[str], since: dt.datetime | None = None,
                    until: dt.datetime | None = None) -> list[StatRow]:
        cols = group_columns(by)
        since, until = (None if t is None else utc(t) for t in (since, until))
        keys = ", ".join([*cols, "currency"])
        sql = (f"SELECT {keys}, COUNT(*), COUNT(bound_at), AVG(premium) FROM quotes "
               "WHERE ($1::timestamptz IS NULL OR quoted_at >= $1) AND "
               f"($2::timestamptz IS NULL OR quoted_at < $2) GROUP BY {keys} ORDER BY {keys}")
        return stat_rows(cols, await self._pooled(lambda c: c.fetch(sql, since, until)))
