"""Benchmark the quote ledger's durable commits: group commit against one by one.

    .venv/bin/python loadtest/bench_ledger.py [--records 5000] [--writers 64]
        [--store sqlite --store postgresql] [--postgres-url URL] [--workdir DIR]

For each store: one writer awaiting each record in turn (one transaction, one fsync
per quote: what a naive "commit before answering" costs), then W concurrent writers
(the router under load: the group committer batches whatever is queued into one
transaction). Each run starts on an empty ledger; records are built beforehand and
not timed. PostgreSQL is a throwaway server started from Debian's package
(tests/pgserver.py) unless --postgres-url names one. SQLite's file is in --workdir
(default a temp folder: put it on the disk you mean to measure). The machine is
shared and noisy: read the ratios within one run rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/: the throwaway PostgreSQL and the record builder

from quoteflow.ledger import LedgerSettings, QuoteRecord, make_store  # noqa: E402
from tests.unit.ledger.records import record  # noqa: E402

STORES = ("sqlite", "postgresql")


async def measure(url: str, recs: list[QuoteRecord], writers: int) -> tuple[float, float]:
    """(records/s, mean batch size) writing ``recs`` with ``writers`` concurrent tasks."""
    store = make_store(LedgerSettings(url=url, timeout=30.0))
    await store.open()
    try:
        todo = iter(recs)

        async def writer() -> None:
            for rec in todo:  # the shared iterator hands each record to one writer
                await store.record(rec)

        t = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        elapsed = time.perf_counter() - t
        stats = store.writer_stats
        assert stats.records == len(recs), stats
        return len(recs) / elapsed, stats.mean_batch
    finally:
        await store.close()


def records(n: int) -> list[QuoteRecord]:
    template = record(1)
    return [template.model_copy(update={"quote_id": uuid.uuid4().hex}) for _ in range(n)]


def urls(stores: list[str], workdir: Path, pg_url: str | None):  # type: ignore[no-untyped-def]
    """Yield (store, a function giving a fresh empty ledger URL) for each store."""
    for kind in stores:
        if kind == "sqlite":
            yield kind, lambda: f"sqlite:///{workdir / uuid.uuid4().hex}.sqlite3"
        elif pg_url:
            yield kind, lambda: pg_url
        else:
            from tests.pgserver import PgServer

            server = PgServer()
            server.start()
            try:
                yield kind, server.create_database
            finally:
                server.destroy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=5000, help="records per run")
    ap.add_argument("--writers", type=int, default=64, help="concurrent writers")
    ap.add_argument("--store", action="append", choices=STORES, help="default: both")
    ap.add_argument("--postgres-url", help="an existing server's empty database (its "
                                           "quotes table gets the records)")
    ap.add_argument("--workdir", type=Path, help="where SQLite files go (default: temp)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        print(f"{'store':<12}{'writers':>8}{'records':>9}{'records/s':>13}"
              f"{'mean batch':>12}{'vs one by one':>15}")
        for kind, fresh in urls(args.store or list(STORES), workdir, args.postgres_url):
            serial = 0.0
            for writers in (1, args.writers):
                rate, batch = asyncio.run(measure(fresh(), records(args.records), writers))
                serial = serial or rate
                print(f"{kind:<12}{writers:>8}{args.records:>9,}{rate:>9,.0f} r/s"
                      f"{batch:>12.1f}{rate / serial:>14.1f}x", flush=True)


if __name__ == "__main__":
    main()
