"""Shadow comparison: the other color prices the same features after the answer.

Bounded on every side: a rate cap (a token bucket, one second of burst), a queue
of fixed size (full -> dropped and counted), a fixed number of workers, a timeout
per call. Nothing here is awaited by the live
path: ``offer`` only does ``put_nowait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from quoteflow import metrics, tracing
from quoteflow.products.base import Product
from quoteflow.router.upstream import UpstreamError, Upstreams
from quoteflow.traffic.policy import Color

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowJob:
    features: list[float]
    schema_version: str
    primary: Color
    primary_prediction: dict[str, Any]
    # the other color's version in a scheduled tariff (named to its process); None:
    # the current tariff's, the version the process serves by default
    version: str | None = None
    # the quote's trace (tracing.capture): the call is traced as a span linked to it
    trace: object = None


class ShadowComparer:
    def __init__(self, upstreams: Upstreams, product: Product, queue_size: int,
                 concurrency: int, timeout: float, max_per_second: float = 0.0) -> None:
        self.upstreams = upstreams
        self.product = product
        self.max_per_second = max_per_second
        self._tokens = max_per_second
        self._refilled = time.monotonic()
        self.queue: asyncio.Queue[ShadowJob] = asyncio.Queue(maxsize=queue_size)
        self.concurrency = concurrency
        self.timeout = timeout
        self._workers: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._work()) for _ in range(self.concurrency)]

    async def stop(self) -> None:
        for w in self._workers:
            w.cancel()
        for w in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await w

    def offer(self, job: ShadowJob, sample: float) -> None:
        if sample < 1.0 and random.random() >= sample:
            return
        other: Color = "green" if job.primary == "blue" else "blue"
        if not self.upstreams.usable(other):
            metrics.SHADOW_DROPPED.labels("target_down").inc()
            return
        if self.max_per_second > 0 and not self._take_token():
            metrics.SHADOW_DROPPED.labels("rate_cap").inc()
            return
        try:
            self.queue.put_nowait(job)
        except asyncio.QueueFull:
            metrics.SHADOW_DROPPED.labels("queue_full").inc()

    def _take_token(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self.max_per_second,
                           self._tokens + (now - self._refilled) * self.max_per_second)
        self._refilled = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def _work(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                with tracing.follow(job.trace, "quoteflow.shadow",
                                    {"quoteflow.shadow.of": job.primary}):
                    await self._compare(job)
            except Exception:  # a worker must survive anything one comparison does
                log.exception("shadow comparison failed")
            finally:
                self.queue.task_done()

    async def _compare(self, job: ShadowJob) -> None:
        other: Color = "green" if job.primary == "blue" else "blue"
        metrics.SHADOW_SENT.labels(other).inc()
        try:
            result = await self.upstreams.predict(other, job.features, job.schema_version,
                                                  self.timeout, job.version)
        except UpstreamError as e:
            metrics.SHADOW_FAILED.labels(e.reason).inc()
            return
        shadow = result["predictions"][0]
        blue, green = ((job.primary_prediction, shadow) if other == "green"
                       else (shadow, job.primary_prediction))
        # always Green measured against Blue, whichever color answered live
        metrics.observe_shadow(self.product.compare(blue, green))
