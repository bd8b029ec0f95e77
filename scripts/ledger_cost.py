"""The ledger's CPU per quote, step by step, in one process (issue 29 item 1).

    .venv/bin/python scripts/ledger_cost.py [--rows 20000] [--batch 14] [--n 5000]

Runs each step of what the router does for the ledger on every priced quote, the same
code, over ``--n`` quotes, and prints the CPU (user + system, every thread: process
time) per quote of each: keying and hashing the request, the re-quote lookup (an index
miss, as in the bench, on a ledger of ``--rows`` rows), building the record, the answer
from it, encoding its row, the hand-over to the writer (group committer and thread
crossing, no I/O), the insert (synchronous=OFF) and the fsync (synchronous=FULL minus
OFF), at the commit batch size the bench reports at closed 64 (``--batch``). The profile
under load (docs/performance.md) says where in the router these land; this says how much
each is.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from quoteflow import products
from quoteflow.ledger.groupcommit import GroupCommitter
from quoteflow.ledger.record import QuoteRecord, Reason
from quoteflow.ledger.sqlite import SqliteStore, encode
from quoteflow.router.ledgering import Pricing, QuoteLedger, public_answer

BODY = {"driver_birth_date": "1985-04-12", "area": "C", "bonus_malus": 50,
        "vehicle_power": 6, "vehicle_brand": "B12", "vehicle_age": 3, "density": 1200,
        "region": "R11", "vehicle_gas": "Regular", "customer_id": "c-000001"}
FEATS = {"features": [0.1 * i for i in range(24)], "schema_version": "2",
         "sticky_key": "c-000001", "quote_date": "2026-12-02"}
MODEL = {"name": "motor", "version": "1", "sha256": "ab" * 32}
PREDICTION = {"premium": Decimal("412.37"), "currency": "EUR",
              "breakdown": {"frequency": 0.0712, "severity": 5791.1}}


def per_quote(n: int, fn: Callable[[int], Any]) -> float:
    """CPU microseconds per call of ``fn(i)`` over ``n`` calls."""
    t0 = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - t0) / n * 1e6


def body(i: int) -> bytes:
    return orjson.dumps({**BODY, "customer_id": f"c-{i:06d}"})


class Stub:
    kind = "none"


def ledger() -> QuoteLedger:
    return QuoteLedger(Stub(), products.get("motor"), "router-0")  # type: ignore[arg-type]


def build(lg: QuoteLedger, i: int) -> QuoteRecord:
    key = lg.key(body(i), {**FEATS, "sticky_key": f"c-{i:06d}"})
    pricing = Pricing(f"{i:032x}", FEATS["features"], "2", MODEL, "blue",
                      Reason(bucket=i % 10000, policy_generation=1))
    answer = {"premium": 412.37, "currency": "EUR", "breakdown": PREDICTION["breakdown"],
              "model": MODEL}
    rec = lg.record_of(key, pricing, answer, {"model": MODEL, **answer})
    assert rec is not None
    return rec


async def handover(recs: list[QuoteRecord], batch: int, thread: bool) -> float:
    """CPU per quote of submitting through the group committer to a commit that does no
    I/O (``thread``: run on the writer's thread, as the stores do)."""
    loop = asyncio.get_running_loop()
    from concurrent.futures import ThreadPoolExecutor
    ex = ThreadPoolExecutor(1)

    async def commit(rs: list[QuoteRecord]) -> list[Exception | None]:
        if thread:
            return await loop.run_in_executor(ex, lambda: [None] * len(rs))
        return [None] * len(rs)

    gc = GroupCommitter(commit, "bench", batch)
    gc.start()
    t0 = time.process_time()
    for i in range(0, len(recs), batch):
        await asyncio.gather(*(gc.submit(r, 1.0) for r in recs[i:i + batch]))
    took = time.process_time() - t0
    await gc.close()
    ex.shutdown()
    return took / len(recs) * 1e6


def insert(path: Path, rows: list[tuple[Any, ...]], batch: int, sync: str) -> float:
    store = SqliteStore(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    store._w = conn  # the store's own batch insert, on this connection
    t0 = time.process_time()
    for i in range(0, len(rows), batch):
        store._commit_rows_sync(rows[i:i + batch])
    took = time.process_time() - t0
    conn.close()
    return took / len(rows) * 1e6


async def main(a: argparse.Namespace) -> None:
    lg = ledger()
    out: dict[str, float] = {}
    out["key the request (parse, canonical JSON, 2 sha256)"] = per_quote(
        a.n, lambda i: lg.key(body(i), FEATS))
    recs = [build(lg, i) for i in range(a.rows + a.n)]
    t0 = time.process_time()
    for i in range(a.n):
        build(lg, i)
    out["build the record (incl. keying)"] = (time.process_time() - t0) / a.n * 1e6
    out["build the record"] = out["build the record (incl. keying)"] - out[
        "key the request (parse, canonical JSON, 2 sha256)"]
    del out["build the record (incl. keying)"]
    out["the answer from the record"] = per_quote(
        a.n, lambda i: public_answer(recs[i], "quote_id"))
    out["encode its row"] = per_quote(a.n, lambda i: encode(recs[i]))
    out["hand-over: group committer, no thread"] = await handover(recs[:a.n], a.batch, False)
    out["hand-over: group committer + writer thread"] = await handover(recs[:a.n], a.batch,
                                                                       True)
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        path = Path(d) / "ledger.sqlite3"
        store = SqliteStore(path)
        await store.open()
        rows = [encode(r) for r in recs]
        await store.close()
        insert(path, rows[a.n:], 256, "OFF")  # the ledger the lookups search
        off = insert(path, [encode(r.model_copy(update={"quote_id": r.quote_id + "x"}))
                            for r in recs[:a.n]], a.batch, "OFF")
        full = insert(path, [encode(r.model_copy(update={"quote_id": r.quote_id + "y"}))
                             for r in recs[:a.n]], a.batch, "FULL")
        out[f"insert, batch {a.batch} (synchronous=OFF)"] = off
        out[f"fsync, batch {a.batch} (FULL minus OFF)"] = full - off
        store = SqliteStore(path)
        await store.open()
        now = dt.datetime.now(dt.UTC)
        t0 = time.process_time()
        for i in range(a.n):
            await store.find_requote(f"none-{i}", recs[i].request_key, now)
        out["re-quote lookup (index miss)"] = (time.process_time() - t0) / a.n * 1e6
        await store.close()
    for k, v in out.items():
        print(f"{v:8.1f} us  {k}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--batch", type=int, default=14)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--dir", default=None, help="where the SQLite file goes (default /tmp)")
    asyncio.run(main(p.parse_args()))
