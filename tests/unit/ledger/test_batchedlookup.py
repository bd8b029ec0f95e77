"""BatchedLookup: the callers waiting together are answered by one lookup, each with its
own value; a failure reaches every caller of its batch and not the next batch."""

from __future__ import annotations

import asyncio

import pytest

from quoteflow.ledger.batchedlookup import BatchedLookup


class Squares:
    """A lookup that records its batches and can be held open or made to fail."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail: Exception | None = None

    async def __call__(self, keys: list[int]) -> list[int]:
        self.batches.append(keys)
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return [k * k for k in keys]


def test_concurrent_callers_share_one_lookup_and_get_their_own_value() -> None:
    async def main() -> None:
        sq = Squares()
        lookup = BatchedLookup(sq)
        assert await asyncio.gather(*(lookup.get(k) for k in range(20))) == [
            k * k for k in range(20)]
        # the first is looked up at once; the others came while it ran
        assert sq.batches == [[0], list(range(1, 20))]
        assert await lookup.get(7) == 49  # later, alone: a batch of its own
        assert sq.batches[-1] == [7] and lookup.batches == 3
    asyncio.run(main())


def test_callers_who_came_during_a_lookup_are_the_next_batch_and_batch_max_caps_it() -> None:
    async def main() -> None:
        sq = Squares()
        sq.gate.clear()
        lookup = BatchedLookup(sq, batch_max=3)
        first = asyncio.ensure_future(lookup.get(1))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(lookup.get(k)) for k in range(2, 7)]
        await asyncio.sleep(0)
        sq.gate.set()
        assert await first == 1
        assert [await f for f in rest] == [4, 9, 16, 25, 36]
        assert sq.batches == [[1], [2, 3, 4], [5, 6]]
    asyncio.run(main())


def test_up_to_in_flight_lookups_run_at_once() -> None:
    async def main() -> None:
        sq = Squares()
        sq.gate.clear()
        lookup = BatchedLookup(sq, in_flight=2)
        waiting = [asyncio.ensure_future(lookup.get(k)) for k in range(1, 5)]
        for _ in range(3):  # the gets, then the lookups they started
            await asyncio.sleep(0)
        assert sq.batches == [[1], [2]]  # two running; 3 and 4 wait for one of them
        sq.gate.set()
        assert [await f for f in waiting] == [1, 4, 9, 16]
        assert sq.batches == [[1], [2], [3, 4]]
    asyncio.run(main())


def test_a_caller_who_gave_up_is_left_out() -> None:
    async def main() -> None:
        sq = Squares()
        sq.gate.clear()
        lookup = BatchedLookup(sq)
        busy = asyncio.ensure_future(lookup.get(1))
        await asyncio.sleep(0)
        await asyncio.sleep(0)  # the lookup has taken it
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await lookup.get(2)  # queued behind the held lookup, then gave up
        kept = asyncio.ensure_future(lookup.get(3))
        sq.gate.set()
        assert (await busy, await kept) == (1, 9)
        assert sq.batches == [[1], [3]]
    asyncio.run(main())


def test_a_failed_lookup_fails_its_batch_only() -> None:
    async def main() -> None:
        sq = Squares()
        sq.fail = RuntimeError("store down")
        lookup = BatchedLookup(sq)
        results = await asyncio.gather(*(lookup.get(k) for k in range(3)),
                                       return_exceptions=True)
        assert [str(r) for r in results] == ["store down"] * 3
        sq.fail = None
        assert await lookup.get(4) == 16
    asyncio.run(main())


def test_close_cancels_the_callers_still_waiting() -> None:
    async def main() -> None:
        sq = Squares()
        sq.gate.clear()
        lookup = BatchedLookup(sq)
        waiting = [asyncio.ensure_future(lookup.get(k)) for k in range(2)]
        await asyncio.sleep(0)
        await lookup.close()
        done = await asyncio.gather(*waiting, return_exceptions=True)
        assert all(isinstance(d, asyncio.CancelledError) for d in done)
    asyncio.run(main())
