"""Group commit: one writer task drains a queue and commits everything queued at once.

Callers await their own row's durable commit; under load they share one transaction
(one fsync), so durability does not cost throughput. A failed commit fails every caller
of that batch with ``LedgerUnavailable`` and the writer goes on with the next batch, so
it recovers by itself when the store is back. A caller whose deadline passes gets
``LedgerUnavailable`` too; its row is dropped if the writer has not taken it yet, and
may still be committed if it was already in flight (a recorded quote that was never
answered is harmless; an answered quote that was never recorded is what must not be).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from quoteflow.ledger import metrics
from quoteflow.ledger.outcomes import LedgerUnavailable, WriterStats
from quoteflow.ledger.record import QuoteRecord

log = logging.getLogger(__name__)

# Commits a batch in one transaction; returns one entry per record: None when it was
# committed, an exception for a record refused on its own (e.g. a duplicate quote id).
# Raises when the transaction as a whole did not commit.
CommitBatch = Callable[[list[QuoteRecord]], Awaitable[list[Exception | None]]]


@dataclass(slots=True)
class _Entry:
    record: QuoteRecord
    future: asyncio.Future[None]


_STOP = object()


class GroupCommitter:
    def __init__(self, commit: CommitBatch, store: str, batch_max: int) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be >= 1, not {batch_max}")
        self._commit = commit
        self._store = store
        self._batch_max = batch_max
        self._queue: asyncio.Queue[_Entry | object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = WriterStats()
        self._duration = metrics.COMMIT_DURATION.labels(store)
        self._batch = metrics.BATCH_SIZE.labels(store)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ledger-writer")

    async def submit(self, record: QuoteRecord, timeout: float | None) -> None:
        """Return once ``record`` is durably committed; LedgerUnavailable otherwise."""
        if self._closing or self._task is None or self._task.done():
            raise LedgerUnavailable(f"ledger writer ({self._store}) is not running")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Entry(record, fut))
        try:
            async with asyncio.timeout(timeout):
                await fut  # a timeout or the caller's cancellation cancels fut: skipped
        except TimeoutError:
            metrics.ERRORS.labels(self._store, "timeout").inc()
            raise LedgerUnavailable(
                f"ledger ({self._store}) did not confirm the commit within "
                f"{timeout * 1000:.0f} ms" if timeout else "ledger commit timed out") from None

    async def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        if self._task is None or self._closing:
            return
        self._closing = True
        self._queue.put_nowait(_STOP)
        await self._task

    async def _run(self) -> None:
        stop = False
        while not stop:
            batch: list[_Entry] = []
            item = await self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, _Entry)
                if not item.future.done():  # cancelled: its caller has gone
                    batch.append(item)
                if len(batch) >= self._batch_max or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Entry]) -> None:
        start = time.perf_counter()
        try:
            errors = await self._commit([e.record for e in batch])
        except Exception as e:  # the writer must survive anything a store raises
            self.stats.failed_commits += 1
            metrics.ERRORS.labels(self._store, "commit").inc()
            log.warning("ledger commit failed", extra={"store": self._store,
                                                       "batch": len(batch), "error": str(e)})
            for entry in batch:
                if not entry.future.done():
                    entry.future.set_exception(
                        LedgerUnavailable(f"ledger commit failed ({self._store}): {e}"))
            return
        self._duration.observe(time.perf_counter() - start)
        self._batch.observe(len(batch))
        self.stats.commits += 1
        for entry, err in zip(batch, errors, strict=True):
            if err is None:
                self.stats.records += 1
            else:
                metrics.ERRORS.labels(self._store, "conflict").inc()
            if not entry.future.done():
                if err is None:
                    entry.future.set_result(None)
                else:
                    entry.future.set_exception(err)
