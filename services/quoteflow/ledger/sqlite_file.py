"""SQLite files as quoteflow keeps them: WAL with synchronous=FULL, numbered migrations,
fixed-width UTC text for times. Shared by every SQLite store (the ledger, the claims desk).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from quoteflow.ledger import schema
from quoteflow.ledger.record import utc


def ts(t: dt.datetime) -> str:
    """Fixed-width UTC text (always the microseconds): sorts as time does. isoformat, not
    strftime: three of these are on every quote's path and strftime is twice as slow."""
    return utc(t).isoformat(timespec="microseconds")[:-6] + "Z"


def sqlite_path(url: str) -> Path:
    """sqlite:///relative/file, sqlite:////absolute/file, or a plain path."""
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///"):])
    if "://" in url:
        raise ValueError(f"not a SQLite URL: {url!r} (sqlite:///path/to/ledger.sqlite3)")
    return Path(url)


def connect(path: Path, *, writer: bool, busy_timeout: float = 1.0) -> sqlite3.Connection:
    """A connection in WAL mode with synchronous=FULL (every COMMIT fsync'd); a reader's
    is query-only. Shared by every SQLite store (the ledger, the claims desk)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                           timeout=busy_timeout)
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise RuntimeError(f"{path}: SQLite refused WAL mode (got {mode}); "
                           "put the database on a local file system")
    conn.execute("PRAGMA synchronous=FULL")  # WAL + FULL: every COMMIT is fsync'd
    conn.execute("PRAGMA secure_delete=ON")  # erasure zeroes the deleted rows' bytes
    conn.execute("PRAGMA foreign_keys=ON")
    if not writer:
        conn.execute("PRAGMA query_only=ON")
    return conn


def migrate(c: sqlite3.Connection, migrations: list[schema.Migration], where: str,
            table: str = "schema_migrations") -> None:
    """Apply the pending numbered migrations in one transaction, recorded in ``table``
    (each store its own table, so two stores can share one database)."""
    c.execute(f"CREATE TABLE IF NOT EXISTS {table} (version INTEGER PRIMARY "
              "KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    c.execute("BEGIN IMMEDIATE")
    try:
        applied = {v for (v,) in c.execute(f"SELECT version FROM {table}")}
        for version, name, statements in schema.pending(migrations, applied, where):
            for s in statements:
                c.execute(s)
            c.execute(f"INSERT INTO {table} VALUES (?, ?, ?)",
                      (version, name, ts(dt.datetime.now(dt.UTC))))
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
