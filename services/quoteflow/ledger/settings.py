"""The ledger's settings: a field set the router embeds, and the store they open.

The router nests it (``ledger: LedgerSettings``); from the environment that reads
e.g. ``QUOTEFLOW_ROUTER_LEDGER__URL=postgresql://...`` with ``env_nested_delimiter="__"``.
The CLI reads the same URL from ``--ledger`` or ``QUOTEFLOW_CLI_LEDGER_URL`` (as
`quoteflow rollout` does; ``QUOTEFLOW_LEDGER_URL`` is still read).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from quoteflow.ledger.store import LedgerStore

# where `quoteflow up` keeps its work directory (local/cli.py --workdir)
DEFAULT_URL = "sqlite:///var/run/motor/ledger.sqlite3"


class LedgerSettings(BaseModel):
    url: str = Field(default=DEFAULT_URL, description=(
        "sqlite:///path (relative), sqlite:////abs/path, or postgresql://user@host/db; "
        "several router replicas need PostgreSQL"))
    batch_max: int = Field(default=512, ge=1, le=10_000,
                           description="most quotes committed in one transaction")
    commit_interval: float = Field(default=0.002, ge=0, le=0.05, description=(
        "least seconds between the starts of two commits: at a moderate rate the quotes "
        "of that window share one fsync (measured here: half the writer's CPU a quote at "
        "1,000 quotes/s with 2 ms); 0 commits as soon as a quote is queued"))
    timeout: float = Field(default=0.1, gt=0, description=(
        "seconds a read or a bind waits for the store; a quote's commit waits for what is "
        "left of the router's budget"))
    pool_size: int = Field(default=4, ge=1, description="PostgreSQL pooled connections "
                                                        "(reads, binds), beside the writer")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        kind_of(v)
        return v


def kind_of(url: str) -> str:
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    if url.startswith("sqlite:///") or "://" not in url:
        return "sqlite"
    raise ValueError(f"ledger URL {url!r}: expected sqlite:///path or postgresql://...")


def make_store(settings: LedgerSettings, *, create: bool = True) -> LedgerStore:
    """The store for ``settings.url``, not yet opened (``await store.open()``).

    ``create=False`` refuses a SQLite file that does not exist (the CLI's read commands)."""
    if kind_of(settings.url) == "postgresql":
        from quoteflow.ledger.postgres import PostgresStore  # asyncpg only when used

        return PostgresStore(settings.url, batch_max=settings.batch_max,
                             timeout=settings.timeout, pool_size=settings.pool_size,
                             commit_interval=settings.commit_interval)
    from quoteflow.ledger.sqlite import SqliteStore
    from quoteflow.ledger.sqlite_file import sqlite_path

    return SqliteStore(sqlite_path(settings.url), create=create,
                       batch_max=settings.batch_max, timeout=settings.timeout,
                       commit_interval=settings.commit_interval)
