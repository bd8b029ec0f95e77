"""The ledger's operations, the same tests on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from quoteflow.ledger import Bound, Expired, LedgerConflict, NotFound, sqlite_file
from quoteflow.ledger import postgres as pg_backend
from quoteflow.ledger import sqlite as sqlite_backend
from tests.unit.ledger.records import T0, opened, record, run

DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def test_record_then_get_round_trips_exactly(ledger_url: str) -> None:
    rec = record(7, premium="1234.57")

    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(rec)
            got = await store.get(rec.quote_id)
            assert got == rec  # every field, times to the microsecond
            assert got is not None and got.premium == Decimal("1234.57")
            assert str(got.premium) == "1234.57"
            assert got.features == rec.features  # 1/3 survives as the same double
            assert await store.get("no-such-quote") is None
    run(main())


def test_commits_are_durable_by_configuration(ledger_url: str) -> None:
    async def main() -> dict[str, str]:
        async with opened(ledger_url) as store:
            return await store.durability()
    got = run(main())
    if ledger_url.startswith("sqlite"):
        assert got == {"journal_mode": "wal", "synchronous": "FULL"}
    else:
        assert got == {"synchronous_commit": "on", "fsync": "on"}


def test_group_commit_batches_concurrent_callers_and_all_are_durable(ledger_url: str) -> None:
    n = 64
    recs = [record(i) for i in range(n)]

    async def main() -> None:
        async with opened(ledger_url) as store:
            await asyncio.gather(*(store.record(r) for r in recs))
            stats = store.writer_stats
            assert stats.records == n
            assert stats.commits < n, stats  # batched, not one transaction per quote
        async with opened(ledger_url) as again:  # a new store object: what is on disk
            got = [r async for r in again.export(T0 - DAY, T0 + DAY)]
            assert sorted(r.quote_id for r in got) == sorted(r.quote_id for r in recs)
    run(main())


def test_one_by_one_is_one_commit_each_and_batch_max_caps_a_batch(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url, batch_max=8) as store:
            for i in range(5):
                await store.record(record(i))
            assert (store.writer_stats.commits, store.writer_stats.records) == (5, 5)
            await asyncio.gather(*(store.record(record(i)) for i in range(100, 164)))
            assert store.writer_stats.commits >= 5 + 64 // 8
            assert store.writer_stats.records == 69
    run(main())


def test_a_duplicate_quote_id_fails_alone_not_its_batch(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(record(1))
            results = await asyncio.gather(
                *(store.record(record(i)) for i in (2, 1, 3)), return_exceptions=True)
            assert results[0] is None and results[2] is None
            assert isinstance(results[1], LedgerConflict)
            assert "q000001 is already recorded" in str(results[1])
            assert await store.get("q000003") is not None
    run(main())


def test_requote_inside_validity_returns_the_newest_record(ledger_url: str) -> None:
    first = record(1, validity=DAY)
    later = record(2, quoted_at=T0 + dt.timedelta(hours=1), validity=DAY,
                   request_key=first.request_key)
    other_customer = record(3, customer_key="cust-2", request_key=first.request_key)

    async def main() -> None:
        async with opened(ledger_url) as store:
            for r in (first, later, other_customer):
                await store.record(r)
            find = store.find_requote
            assert await find("cust-1", first.request_key, T0 + dt.timedelta(minutes=5)) == later
            assert await find("cust-1", first.request_key, later.valid_until) == later
            assert await find("cust-1", first.request_key, later.valid_until + US) is None
            assert await find("cust-1", "0" * 64, T0) is None
            assert await find("cust-9", first.request_key, T0) is None
    run(main())


def test_concurrent_requote_lookups_each_get_their_own_answer(ledger_url: str) -> None:
    """Many quotes look up at once (PostgreSQL answers them in one query): each gets the
    newest quote of its own customer and request, valid at its own instant, or None."""
    recs = [record(i, validity=DAY, customer_key=f"cust-{i % 3}") for i in range(6)]
    later = record(10, quoted_at=T0 + dt.timedelta(hours=1), validity=DAY,
                   customer_key="cust-0", request_key=recs[0].request_key)
    # the newest quote valid at the instant: recs[0]'s request has a later quote
    asks = [(f"cust-{i % 3}", r.request_key, T0, r if i else later)
            for i, r in enumerate(recs)] + [
        ("cust-0", recs[0].request_key, T0 + dt.timedelta(hours=2), later),
        ("cust-0", recs[0].request_key, later.valid_until + US, None),
        ("cust-1", recs[0].request_key, T0, None),  # another customer's request
        ("cust-1", "0" * 64, T0, None)] * 3

    async def main() -> None:
        async with opened(ledger_url) as store:
            for r in (*recs, later):
                await store.record(r)
            found = await asyncio.gather(*(store.find_requote(c, k, at)
                                           for c, k, at, _ in asks))
            assert found == [want for *_, want in asks]
            if isinstance(store, pg_backend.PostgresStore):  # fewer queries than lookups
                assert store._requotes.batches < len(asks)
    run(main())


def test_bind_is_idempotent(ledger_url: str) -> None:
    rec = record(1)

    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(rec)
            first = await store.bind(rec.quote_id, T0 + dt.timedelta(hours=2))
            again = await store.bind(rec.quote_id, T0 + dt.timedelta(hours=5))
            assert isinstance(first, Bound) and not first.already
            assert isinstance(again, Bound) and again.already
            assert first.bound_at == again.bound_at == T0 + dt.timedelta(hours=2)
            got = await store.get(rec.quote_id)
            assert got is not None and got.status(T0 + 40 * DAY) == "bound"
            assert await store.bind("nope", T0) == NotFound("nope")
    run(main())


def test_concurrent_binds_give_exactly_one_bound_at(ledger_url: str) -> None:
    rec = record(1)

    def binds() -> float:
        return REGISTRY.get_sample_value("quoteflow_ledger_binds_total",
                                         {"model": "motor", "color": "blue"}) or 0.0

    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(rec)
            before = binds()
            outcomes = await asyncio.gather(
                *(store.bind(rec.quote_id, T0 + i * US + US) for i in range(20)))
            assert all(isinstance(o, Bound) for o in outcomes)
            assert sum(not o.already for o in outcomes) == 1  # type: ignore[union-attr]
            assert len({o.bound_at for o in outcomes}) == 1  # type: ignore[union-attr]
            assert binds() - before == 1  # counted once, for the bind that won
    run(main())


def test_binding_an_expired_quote_names_its_valid_until(ledger_url: str) -> None:
    rec = record(1, validity=dt.timedelta(seconds=30))

    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(rec)
            late = await store.bind(rec.quote_id, rec.valid_until + US)
            assert isinstance(late, Expired)
            assert late.valid_until == rec.valid_until
            assert rec.valid_until.isoformat() in late.detail()
            got = await store.get(rec.quote_id)
            assert got is not None and got.bound_at is None
            on_time = await store.bind(rec.quote_id, rec.valid_until)  # last valid instant
            assert isinstance(on_time, Bound) and on_time.bound_at == rec.valid_until
    run(main())


def test_migrations_are_idempotent_on_restart(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(record(1))
        for _ in range(2):
            async with opened(ledger_url) as store:
                assert await store.get("q000001") is not None
    run(main())
    assert migrations(ledger_url) == [1, 2]


def test_the_trace_id_is_kept_and_old_records_have_none(ledger_url: str) -> None:
    """Migration 2 adds the column: a record written before it reads back without one."""
    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(record(1))
            await store.record(record(2, trace_id="4bf92f3577b34da6a3ce929d0e0e4736"))
            old, new = await store.get("q000001"), await store.get("q000002")
            assert old is not None and old.trace_id is None
            assert new is not None and new.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    run(main())
    with pytest.raises(ValueError, match="trace_id"):
        record(3, trace_id="not-hex")


def test_a_ledger_from_a_newer_quoteflow_is_refused(ledger_url: str) -> None:
    run(_open_close(ledger_url))
    execute(ledger_url, "INSERT INTO schema_migrations (version, name, applied_at) "
                        "VALUES (99, 'future', '2030-01-01')")
    with pytest.raises(RuntimeError, match="schema version 99, newer than this quoteflow"):
        run(_open_close(ledger_url))


def test_purge_by_customer_and_by_age(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url) as store:
            await store.record(record(1, customer_key="erase-me"))
            await store.record(record(2, customer_key="erase-me", quoted_at=T0 + DAY))
            await store.record(record(3, customer_key="keep"))
            await store.record(record(4, customer_key=None, quoted_at=T0 - 100 * DAY))
            assert await store.purge_customer("erase-me") == 2
            assert await store.purge_customer("erase-me") == 0
            assert await store.purge_older_than(T0 - 10 * DAY) == 1
            left = [r.quote_id async for r in store.export(T0 - 1000 * DAY, T0 + 10 * DAY)]
            assert left == ["q000003"]
    run(main())
    if ledger_url.startswith("sqlite"):  # erased means gone from the file, not just hidden
        path = sqlite_file.sqlite_path(ledger_url)
        data = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert b"erase-me" not in data and b"keep" in data


def test_export_pages_through_a_period_in_order(ledger_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for backend in (sqlite_backend, pg_backend):
        monkeypatch.setattr(backend, "EXPORT_PAGE", 7)
    recs = [record(i, quoted_at=T0 + (i // 3) * dt.timedelta(seconds=1)) for i in range(30)]

    async def main() -> None:
        async with opened(ledger_url) as store:
            await asyncio.gather(*(store.record(r) for r in recs))
            got = [r async for r in store.export(recs[3].quoted_at, recs[27].quoted_at)]
            assert [r.quote_id for r in got] == [r.quote_id for r in recs[3:27]]
    run(main())


def test_stats_per_color_and_model_version(ledger_url: str) -> None:
    async def main() -> None:
        async with opened(ledger_url) as store:
            for i, (color, version, premium) in enumerate(
                    [("blue", "3", "100.00"), ("blue", "3", "200.00"), ("green", "4", "90.50"),
                     ("green", "4", "110.50"), ("green", "4", "120.00")]):
                await store.record(record(i, color=color, model_version=version,
                                          premium=premium))
            await store.bind("q000000", T0)
            await store.bind("q000002", T0)
            await store.bind("q000003", T0)
            rows = await store.stats(["color", "model_version"])
            with pytest.raises(ValueError, match="cannot group by customer_key"):
                await store.stats(["customer_key"])
            return rows
    rows = run(main())
    assert [(r.group, r.currency, r.quotes, r.binds) for r in rows] == [
        ({"color": "blue", "model_name": "motor", "model_version": "3"}, "EUR", 2, 1),
        ({"color": "green", "model_name": "motor", "model_version": "4"}, "EUR", 3, 2)]
    assert rows[0].conversion == 0.5 and rows[1].conversion == pytest.approx(2 / 3)
    assert rows[0].mean_premium == pytest.approx(150.0)
    assert rows[1].mean_premium == pytest.approx(107.0)


# --- helpers reading the store behind the ledger's back ---------------------------------
async def _open_close(url: str) -> None:
    async with opened(url):
        pass


def execute(url: str, sql: str) -> list[tuple[object, ...]]:
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(sqlite_file.sqlite_path(url)) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    import asyncpg

    async def main() -> list[tuple[object, ...]]:
        conn = await asyncpg.connect(url)
        try:
            return [tuple(r) for r in await conn.fetch(sql.replace("'2030-01-01'",
                                                                   "'2030-01-01'::timestamptz"))]
        finally:
            await conn.close()
    return run(main())


def migrations(url: str) -> list[object]:
    return [r[0] for r in execute(url, "SELECT version FROM schema_migrations ORDER BY 1")]
