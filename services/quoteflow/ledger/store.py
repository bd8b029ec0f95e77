"""The store interface the router and the CLI use, and what both backends share."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

from quoteflow.ledger import metrics
from quoteflow.ledger.groupcommit import CommitBatch, GroupCommitter
from quoteflow.ledger.outcomes import BindOutcome, Bound, Expired, NotFound, StatRow, WriterStats
from quoteflow.ledger.record import QuoteRecord
from quoteflow.ledger.schema import GROUPABLE

EXPORT_PAGE = 1000


class LedgerStore(Protocol):
    kind: str

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def record(self, rec: QuoteRecord, timeout: float | None = None) -> None:
        """Return once durably committed (group commit); LedgerUnavailable if not in time."""
    async def get(self, quote_id: str) -> QuoteRecord | None: ...
    async def find_requote(self, customer_key: str, request_key: str,
                           now: dt.datetime) -> QuoteRecord | None:
        """The newest record with this key and request still valid at ``now``
        (valid_until >= now), bound ones included: the re-quote answers it as it was."""
    async def bind(self, quote_id: str, now: dt.datetime) -> BindOutcome:
        """Bound (``already`` when bound before: same bound_at), Expired or NotFound;
        a conditional UPDATE, so concurrent binds of one quote set one bound_at."""
    def export(self, since: dt.datetime, until: dt.datetime) -> AsyncIterator[QuoteRecord]:
        """Records quoted in [since, until), oldest first."""
    async def stats(self, by: Sequence[str], since: dt.datetime | None = None,
                    until: dt.datetime | None = None) -> list[StatRow]:
        """Quotes, binds, mean premium per group of ``by`` columns and currency."""
    async def purge_customer(self, customer_key: str) -> int:
        """Erasure: delete every record with this customer key; the count deleted."""
    async def purge_older_than(self, cutoff: dt.datetime) -> int:
        """Retention: delete every record quoted before ``cutoff``; the count deleted."""
    async def durability(self) -> dict[str, str]:
        """The settings that make a commit durable, as the store runs them."""
    @property
    def writer_stats(self) -> WriterStats: ...


class GroupCommitMixin:
    """``record`` through a group committer; the backend provides ``_commit_batch``."""

    kind: str
    timeout: float | None
    batch_max: int
    commit_interval: float = 0.0
    _committer: GroupCommitter | None = None

    def _start_writer(self, commit: CommitBatch) -> None:
        self._committer = GroupCommitter(commit, self.kind, self.batch_max,
                                         self.commit_interval)
        self._committer.start()

    async def _stop_writer(self) -> None:
        if self._committer is not None:
            await self._committer.close()

    async def record(self, rec: QuoteRecord, timeout: float | None = None) -> None:
        """Return once ``rec`` is durably committed; ``timeout`` (seconds) defaults to the
        store's. Raises LedgerUnavailable (commit failed or late), LedgerConflict (id taken)."""
        if self._committer is None:
            raise RuntimeError("ledger store used before open()")
        await self._committer.submit(rec, self.timeout if timeout is None else timeout)

    @property
    def writer_stats(self) -> WriterStats:
        return self._committer.stats if self._committer else WriterStats()


def bind_outcome(quote_id: str, rec: QuoteRecord | None, updated: bool) -> BindOutcome:
    """From the row read after the conditional UPDATE and whether that UPDATE won."""
    if rec is None:
        return NotFound(quote_id)
    if rec.bound_at is not None:
        if updated:
            metrics.BINDS.labels(rec.model_name, rec.color).inc()
        return Bound(rec, already=not updated)
    return Expired(rec)


def group_columns(by: Sequence[str]) -> list[str]:
    """Validated GROUP BY columns; a version is only meaningful with its model name."""
    unknown = [b for b in by if b not in GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group by {', '.join(unknown)}: choose from "
                         f"{', '.join(GROUPABLE)}")
    cols = list(dict.fromkeys(by))
    if "model_version" in cols and "model_name" not in cols:
        cols.insert(cols.index("model_version"), "model_name")
    return cols


class Row(Protocol):
    """A result row by position: SQLite's tuple or asyncpg's Record (untyped values)."""

    def __getitem__(self, index: int, /) -> Any: ...


def stat_rows(cols: list[str], rows: Sequence[Row]) -> list[StatRow]:
    """Rows of (cols..., currency, quotes, binds, mean premium) into StatRows."""
    n = len(cols)
    return [StatRow(group={c: str(r[i]) for i, c in enumerate(cols)}, currency=str(r[n]),
                    quotes=int(r[n + 1]), binds=int(r[n + 2]), mean_premium=float(r[n + 3]))
            for r in rows]
