"""Lookups batched like commits: the callers waiting for one are answered by one query.

A store reached over the network (PostgreSQL) pays a round trip, a pooled connection and
the driver's per-query work for every lookup. Every quote asks whether its customer has
the same quote already (the re-quote read), so at 64 quotes in flight that was 64 reads
queueing for a pool of 4 connections, and each quote's 100 ms read budget ran out in the
queue (5-20% of quotes refused at closed 64 in `quoteflow bench`, issue 29). One task
runs the lookup for every key waiting, one batch at a time: a burst costs one query.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BatchedLookup(Generic[K, V]):
    """``await get(key)``: the value ``lookup`` gives for it, looked up with every other
    key waiting. ``lookup`` returns one value per key, in order; what it raises is raised
    to every caller of its batch. A caller that stops waiting (timeout, cancellation) is
    left out of the next batch, or its value dropped."""

    def __init__(self, lookup: Callable[[list[K]], Awaitable[list[V]]],
                 batch_max: int = 256) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be >= 1, not {batch_max}")
        self._lookup = lookup
        self._batch_max = batch_max
        self._pending: collections.deque[tuple[K, asyncio.Future[V]]] = collections.deque()
        # the draining task, while there is one (a strong reference: the loop keeps weak ones)
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # lookups run (a test and a benchmark read it)

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[V] = loop.create_future()
        self._pending.append((key, fut))
        if self._task is None:
            self._task = loop.create_task(self._drain(), name="batched-lookup")
        return await fut

    async def close(self) -> None:
        """Stop looking up: the callers still waiting are cancelled."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _, fut in self._pending:
            fut.cancel()
        self._pending.clear()

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch: list[tuple[K, asyncio.Future[V]]] = []
                while self._pending and len(batch) < self._batch_max:
                    key, fut = self._pending.popleft()
                    if not fut.done():
                        batch.append((key, fut))
                if batch:
                    await self._run(batch)
        finally:
            self._task = None

    async def _run(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        self.batches += 1
        try:
            values = await self._lookup([key for key, _ in batch])
        except Exception as e:  # the store's failure is every waiting caller's answer
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            return
        for (_, fut), value in zip(batch, values, strict=True):
            if not fut.done():
                fut.set_result(value)
