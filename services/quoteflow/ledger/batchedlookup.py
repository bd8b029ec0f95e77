"""Lookups batched like commits: the callers waiting for one are answered by one query.

A store reached over the network (PostgreSQL) pays a round trip, a pooled connection and
the driver's per-query work for every lookup. Every quote asks whether its customer has
the same quote already (the re-quote read), so at 64 quotes in flight that was 64 reads
queueing for a pool of 4 connections, and each quote's 100 ms read budget ran out in the
queue (5-10% of quotes refused at closed 64 in `quoteflow bench`, issue 29). Here a
few lookups run at once, and the keys that come while they run go together into the
next: a burst costs a few queries, and one slow query holds up only its own batch.
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
    """``await get(key)``: the value ``lookup`` gives for it. Up to ``in_flight`` lookups
    run at once; a key that comes while they all run waits, and the next lookup takes
    every key waiting (at most ``batch_max``): alone, a key costs one query as before;
    in a burst, the burst costs a few. ``lookup`` returns one value per key, in order;
    what it raises is raised to every caller of its batch. A caller that stops waiting
    (timeout, cancellation) is left out of the next batch, or its value dropped."""

    def __init__(self, lookup: Callable[[list[K]], Awaitable[list[V]]],
                 in_flight: int = 1, batch_max: int = 256) -> None:
        if in_flight < 1 or batch_max < 1:
            raise ValueError(f"in_flight and batch_max must be >= 1, not {in_flight} and "
                             f"{batch_max}")
        self._lookup = lookup
        self._in_flight = in_flight
        self._batch_max = batch_max
        self._pending: collections.deque[tuple[K, asyncio.Future[V]]] = collections.deque()
        # the lookups running and their callers (strong references: the loop keeps weak ones)
        self._running: dict[asyncio.Task[None], list[tuple[K, asyncio.Future[V]]]] = {}
        self.batches = 0  # lookups run (a test and a benchmark read it)

    async def get(self, key: K) -> V:
        fut: asyncio.Future[V] = asyncio.get_running_loop().create_future()
        self._pending.append((key, fut))
        self._start()
        return await fut

    async def close(self) -> None:
        """Stop looking up: the callers still waiting are cancelled."""
        for _, fut in self._pending:
            fut.cancel()
        self._pending.clear()
        for task, batch in list(self._running.items()):
            task.cancel()  # a task cancelled before it ran never answers its batch
            for _, fut in batch:
                fut.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start(self) -> None:
        """Start lookups for what is waiting, while fewer than ``in_flight`` run."""
        while self._pending and len(self._running) < self._in_flight:
            batch: list[tuple[K, asyncio.Future[V]]] = []
            while self._pending and len(batch) < self._batch_max:
                key, fut = self._pending.popleft()
                if not fut.done():  # its caller has gone
                    batch.append((key, fut))
            if batch:
                task = asyncio.get_running_loop().create_task(self._run(batch),
                                                              name="batched-lookup")
                self._running[task] = batch
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._start()

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
