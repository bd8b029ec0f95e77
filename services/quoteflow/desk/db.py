"""The desk's database: the quote ledger's connection and migration code, one small
query interface over both dialects.

SQLite (the default) is one WAL connection on one thread (ledger.sqlite_file.connect), so
every statement is serialized; the desk's load (people clicking) needs no more.
PostgreSQL is an asyncpg pool. SQL is written once with ``?`` placeholders; times are
passed as aware datetimes and come back as datetimes from both.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar, TypeVarTuple

from quoteflow.desk import schema
from quoteflow.ledger.settings import kind_of

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

Statement = tuple[str, Sequence[Any]]
_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class DatabaseConflict(Exception):
    """A unique key is taken (e.g. a claim reference drawn twice)."""


class Database(Protocol):
    kind: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]: ...
    async def execute(self, sql: str, *args: Any) -> int:
        """The number of rows the statement changed."""
    async def transaction(self, statements: Sequence[Statement],
                          guarded: bool = False) -> bool:
        """All statements or none; ``guarded``: none when the first changes no row (a
        conditional UPDATE that lost), and False."""


class SqliteDatabase:
    kind = "sqlite"

    def __init__(self, url: str) -> None:
        from quoteflow.ledger.sqlite_file import sqlite_path

        self.path = sqlite_path(url)
        self._ex = ThreadPoolExecutor(1, thread_name_prefix="desk-sqlite")
        self._c: Any = None

    async def _on(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._ex, fn, *args)

    def _open(self) -> None:
        from quoteflow.ledger.sqlite_file import connect, migrate

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._c = connect(self.path, writer=True)
        migrate(self._c, schema.SQLITE, f"desk database {self.path}", table=schema.TABLE)

    async def open(self) -> None:
        await self._on(self._open)

    async def close(self) -> None:
        if self._c is not None:
            await self._on(self._c.close)
        self._ex.shutdown(wait=True)

    @staticmethod
    def _args(args: Sequence[Any]) -> tuple[Any, ...]:
        from quoteflow.ledger.sqlite_file import ts

        return tuple(ts(a) if isinstance(a, dt.datetime) else a for a in args)

    def _fetch(self, sql: str, args: Sequence[Any]) -> list[dict[str, Any]]:
        cur = self._c.execute(sql, self._args(args))
        names = [d[0] for d in cur.description or ()]
        return [{k: _time(v) for k, v in zip(names, row, strict=True)} for row in cur]

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return await self._on(self._fetch, sql, args)

    def _transaction(self, statements: Sequence[Statement], guarded: bool = False) -> int:
        import sqlite3

        c, n = self._c, 0
        c.execute("BEGIN IMMEDIATE")
        try:
            for i, (sql, args) in enumerate(statements):
                changed = c.execute(sql, self._args(args)).rowcount
                if guarded and i == 0 and changed == 0:
                    c.execute("ROLLBACK")
                    return 0
                n += changed
            c.execute("COMMIT")
        except BaseException as e:
            c.execute("ROLLBACK")
            if isinstance(e, sqlite3.IntegrityError) and "UNIQUE" in str(e):
                raise DatabaseConflict(str(e)) from e
            raise
        return n

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._on(self._transaction, [(sql, args)])

    async def transaction(self, statements: Sequence[Statement],
                          guarded: bool = False) -> bool:
        return bool(await self._on(self._transaction, statements, guarded))


def _time(v: Any) -> Any:
    """SQLite keeps times as fixed-width UTC text (ledger.sqlite_file.ts): back to datetime."""
    if isinstance(v, str) and _TS.match(v):
        return dt.datetime.fromisoformat(v)
    return v


def dollar(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2...`` (no ``?`` in our SQL's literals)."""
    n = iter(range(1, sql.count("?") + 1))
    return re.sub(r"\?", lambda _: f"${next(n)}", sql)


class PostgresDatabase:
    kind = "postgresql"

    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: Any = None

    async def open(self) -> None:
        import asyncpg

        from quoteflow.ledger.postgres import migrate

        conn = await asyncpg.connect(self.url, timeout=5)
        try:
            await migrate(conn, schema.POSTGRESQL, "desk PostgreSQL database",
                          table=schema.TABLE, lock=schema.LOCK)
        finally:
            await conn.close()
        self._pool = await asyncpg.create_pool(self.url, min_size=0, max_size=self.pool_size,
                                               server_settings={"application_name":
                                                                "quoteflow-desk"})

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(dollar(sql), *args)
        return [dict(r.items()) for r in rows]

    async def execute(self, sql: str, *args: Any) -> int:
        import asyncpg

        try:
            status = await self._pool.execute(dollar(sql), *args)
        except asyncpg.UniqueViolationError as e:
            raise DatabaseConflict(str(e)) from e
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def transaction(self, statements: Sequence[Statement],
                          guarded: bool = False) -> bool:
        import asyncpg

        class _Lost(Exception):
            pass

        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    for i, (sql, args) in enumerate(statements):
                        status = await conn.execute(dollar(sql), *args)
                        if guarded and i == 0 and status.endswith(" 0"):
                            raise _Lost
            except _Lost:
                return False
            except asyncpg.UniqueViolationError as e:
                raise DatabaseConflict(str(e)) from e
        return True


def make_database(url: str, pool_size: int = 4) -> Database:
    """The database for ``url`` (the ledger's URL forms), not yet opened."""
    if kind_of(url) == "postgresql":
        return PostgresDatabase(url, pool_size)
    return SqliteDatabase(url)
