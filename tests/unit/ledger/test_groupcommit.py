"""The group committer's contract, with a commit function the test controls."""

from __future__ import annotations

import asyncio

import pytest

from quoteflow.ledger import LedgerUnavailable
from quoteflow.ledger.groupcommit import GroupCommitter
from quoteflow.ledger.record import QuoteRecord
from tests.unit.ledger.records import record, run


class FakeStore:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail_next: Exception | None = None

    async def commit(self, recs: list[QuoteRecord]) -> list[Exception | None]:
        await self.gate.wait()
        if self.fail_next is not None:
            e, self.fail_next = self.fail_next, None
            raise e
        self.batches.append([r.quote_id for r in recs])
        return [None] * len(recs)


def test_a_caller_that_timed_out_before_its_row_was_taken_is_not_committed() -> None:
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=10)
        gc.start()
        fake.gate.clear()  # the first batch hangs in its commit
        first = asyncio.create_task(gc.submit(record(1), timeout=5))
        await asyncio.sleep(0.01)
        with pytest.raises(LedgerUnavailable, match="within 50 ms"):
            await gc.submit(record(2), timeout=0.05)  # queued behind the stuck commit
        third = asyncio.create_task(gc.submit(record(3), timeout=5))
        await asyncio.sleep(0.01)
        fake.gate.set()
        await first
        await third
        await gc.close()
        assert fake.batches == [["q000001"], ["q000003"]]
    run(main())


def test_a_failed_commit_fails_its_whole_batch_and_the_writer_goes_on() -> None:
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=100)
        gc.start()
        fake.fail_next = OSError("disk full")
        results = await asyncio.gather(*(gc.submit(record(i), timeout=1) for i in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(r, LedgerUnavailable) and "disk full" in str(r)
                   for r in results), results
        await gc.submit(record(9), timeout=1)  # recovered by itself
        assert fake.batches == [["q000009"]]
        assert (gc.stats.failed_commits, gc.stats.commits) == (1, 1)
        await gc.close()
    run(main())


def test_close_commits_what_is_queued_and_then_refuses() -> None:
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=100)
        gc.start()
        pending = [asyncio.create_task(gc.submit(record(i), timeout=1)) for i in range(3)]
        await asyncio.sleep(0)
        await gc.close()
        await asyncio.gather(*pending)
        assert sorted(q for b in fake.batches for q in b) == ["q000000", "q000001", "q000002"]
        with pytest.raises(LedgerUnavailable, match="not running"):
            await gc.submit(record(5), timeout=1)
    run(main())


def test_batch_max_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch_max must be >= 1"):
        GroupCommitter(FakeStore().commit, "fake", batch_max=0)


def test_commits_start_at_most_once_an_interval_so_quotes_share_one() -> None:
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=100, interval=0.05)
        gc.start()
        await gc.submit(record(1), timeout=5)  # idle: committed at once, no wait
        # three quotes a few ms apart, inside the interval after the first commit: one batch
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        tasks = []
        for i in (2, 3, 4):
            tasks.append(asyncio.create_task(gc.submit(record(i), timeout=5)))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        await gc.close()
        assert fake.batches == [["q000001"], ["q000002", "q000003", "q000004"]]
        assert gc.stats.commits == 2 and loop.time() - t0 < 1.0
    run(main())


def test_an_idle_writer_commits_the_first_quote_without_waiting_the_interval() -> None:
    async def main() -> float:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=100, interval=10.0)
        gc.start()
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await gc.submit(record(1), timeout=5)
        took = loop.time() - t0
        await gc.close()
        return took
    assert run(main()) < 5.0  # a wait of the 10 s interval would have timed the submit out


def test_a_shorter_deadline_queued_behind_a_longer_one_still_fails_on_time() -> None:
    # one timer serves every caller (armed for the earliest deadline): a caller with less
    # budget left than those before it must not wait for theirs
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=10)
        gc.start()
        fake.gate.clear()
        first = asyncio.create_task(gc.submit(record(1), timeout=30))
        await asyncio.sleep(0.01)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(LedgerUnavailable, match="within 50 ms"):
            await gc.submit(record(2), timeout=0.05)
        assert loop.time() - t0 < 5, "the short deadline waited for the long one's timer"
        fake.gate.set()
        await first
        await gc.close()
    run(main())


def test_callers_answered_in_time_do_not_pile_up_behind_the_timer() -> None:
    async def main() -> None:
        fake = FakeStore()
        gc = GroupCommitter(fake.commit, "fake", batch_max=50)
        gc.start()
        for n in range(5):  # answered long before their deadlines
            await asyncio.gather(*(gc.submit(record(100 * n + i), timeout=0.5)
                                   for i in range(50)))
        assert len(gc._deadlines) == 250
        await asyncio.sleep(0.6)  # the timer, due at the first deadline, drops them all
        assert gc._deadlines == []
        await gc.close()
    run(main())
