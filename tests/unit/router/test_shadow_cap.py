"""The shadow rate cap: a token bucket with one second of burst, drops counted."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from quoteflow import products
from quoteflow.router.shadow import ShadowComparer, ShadowJob


class AlwaysUp:
    def usable(self, color: str) -> bool:
        return True


MOTOR = products.get("motor")


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("quoteflow_shadow_dropped_total", {"reason": reason}) or 0.0


def offer_many(comparer: ShadowComparer, n: int) -> None:
    job = ShadowJob([0.0] * 20, "1", "blue", {"premium": 100.0})
    for _ in range(n):
        comparer.offer(job, 1.0)


def test_cap_lets_one_second_of_burst_through_then_drops() -> None:
    async def main() -> tuple[int, float]:
        c = ShadowComparer(AlwaysUp(), MOTOR, queue_size=10_000, concurrency=1,  # type: ignore[arg-type]
                           timeout=0.1, max_per_second=50)
        before = dropped("rate_cap")
        offer_many(c, 200)
        return c.queue.qsize(), dropped("rate_cap") - before

    queued, capped = asyncio.run(main())
    # 50 tokens at start, a few more refilled while offering
    assert 50 <= queued <= 55
    assert queued + capped == 200


def test_tokens_come_back_with_time() -> None:
    async def main() -> list[Any]:
        c = ShadowComparer(AlwaysUp(), MOTOR, queue_size=10_000, concurrency=1,  # type: ignore[arg-type]
                           timeout=0.1, max_per_second=100)
        offer_many(c, 150)
        first = c.queue.qsize()
        await asyncio.sleep(0.2)  # ~20 tokens
        offer_many(c, 100)
        return [first, c.queue.qsize() - first]

    first, later = asyncio.run(main())
    assert 100 <= first <= 105
    assert 15 <= later <= 100  # at least 0.2 s of refill, never more than the bucket


def test_no_cap_when_zero() -> None:
    async def main() -> int:
        c = ShadowComparer(AlwaysUp(), MOTOR, queue_size=10_000, concurrency=1,  # type: ignore[arg-type]
                           timeout=0.1, max_per_second=0)
        offer_many(c, 3000)
        return c.queue.qsize()

    assert asyncio.run(main()) == 3000
