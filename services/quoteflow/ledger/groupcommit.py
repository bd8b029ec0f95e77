"""Group commit: one writer task drains a queue and commits everything queued at once.

Commits start at most once per ``interval`` (like PostgreSQL's commit_delay), so at a
moderate rate a few quotes share one fsync rather than each paying a whole one.

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
import collections
import heapq
import itertools
import logging
import math
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


class GroupCommitter:
    # A deque and a wake-up future rather than asyncio.Queue, and one timer for the
    # earliest deadline rather than one a caller (call_later and cancel: 4.9 us a quote
    # under uvloop, issue 29): all sit on every quote's path.
    def __init__(self, commit: CommitBatch, store: str, batch_max: int,
                 interval: float = 0.0) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be >= 1, not {batch_max}")
        if interval < 0:
            raise ValueError(f"interval must be >= 0 seconds, not {interval}")
        self._commit = commit
        self._store = store
        self._batch_max = batch_max
        self._interval = interval
        self._last_start = float("-inf")
        self._pending: collections.deque[_Entry] = collections.deque()
        self._wake: asyncio.Future[None] | None = None
        # every waiting caller's (deadline, seq, future, timeout), earliest first; a caller
        # answered in time stays until the timer passes it (a few hundred entries)
        self._deadlines: list[tuple[float, int, asyncio.Future[None], float]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.stats = WriterStats()
        self._duration = metrics.COMMIT_DURATION.labels(store)
        self._batch = metrics.BATCH_SIZE.labels(store)
        self._timeouts = metrics.ERRORS.labels(store, "timeout")

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ledger-writer")

    async def submit(self, record: QuoteRecord, timeout: float | None) -> None:
        """Return once ``record`` is durably committed; LedgerUnavailable otherwise."""
        if self._closing or self._task is None or self._task.done():
            raise LedgerUnavailable(f"ledger writer ({self._store}) is not running")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._pending.append(_Entry(record, fut))
        self._wake_writer()
        if timeout is not None:
            # an expired (or cancelled) future is done: the writer skips it if not taken
            deadline = loop.time() + timeout
            heapq.heappush(self._deadlines, (deadline, next(self._seq), fut, timeout))
            if deadline < self._timer_at:
                self._arm(loop, deadline)
        await fut

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = loop.call_at(at, self._expire_due), at

    def _expire_due(self) -> None:
        """Fail every waiting caller whose deadline has passed; re-arm for the next."""
        self._timer, self._timer_at = None, math.inf
        loop = asyncio.get_running_loop()
        now, heap = loop.time(), self._deadlines
        while heap and (heap[0][0] <= now or heap[0][2].done()):
            _, _, fut, timeout = heapq.heappop(heap)
            if not fut.done():
                self._timeouts.inc()
                fut.set_exception(LedgerUnavailable(
                    f"ledger ({self._store}) did not confirm the commit within "
                    f"{timeout * 1000:.0f} ms"))
        if heap:
            self._arm(loop, heap[0][0])

    def _wake_writer(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    async def close(self) -> None:
        """Commit what is queued, then stop the writer."""
        if self._task is None or self._closing:
            return
        self._closing = True
        self._wake_writer()
        await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake = loop.create_future()
                await self._wake
                self._wake = None
                continue
            # At most one commit start per interval: under moderate load the quotes of a
            # few ms share one fsync instead of paying one each (idle or saturated, no
            # wait: the last commit started long ago, or it took longer than this).
            wait = self._interval - (loop.time() - self._last_start)
            if wait > 0 and len(self._pending) < self._batch_max and not self._closing:
                await asyncio.sleep(wait)
            self._last_start = loop.time()
            batch: list[_Entry] = []
            while self._pending and len(batch) < self._batch_max:
                entry = self._pending.popleft()
                if not entry.future.done():  # expired or cancelled: its caller has gone
                    batch.append(entry)
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
