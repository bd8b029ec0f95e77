"""Open-loop load at a fixed rate, free of coordinated omission.

Request i is due at ``start + i / rate`` whatever happened to earlier ones; its
latency is measured from that due time, not from when it actually left, so a
stalled server is charged for the queue it causes (wrk2's rule). Runs as its own
process (``python -m quoteflow.bench.openloop``) so it can be pinned to a core
and its CPU kept apart from the services'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp

from quoteflow.bench.workload import UNIQUE


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


async def run(url: str, bodies: list[tuple[str, str]], rate: float, seconds: float,
              warmup: float, connections: int) -> dict[str, float]:
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=30)
    timeout = aiohttp.ClientTimeout(total=10)
    latencies: list[float] = []
    errors = 0
    total = 0
    encoded = [(b.encode(), {"content-type": "application/json", "x-customer-key": k})
               for b, k in bodies]
    mark, nonce = UNIQUE.encode(), uuid.uuid4().hex[:12]  # every quote new (workload.py)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout,
                                     skip_auto_headers=("User-Agent",)) as session:
        # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
        clock = time.perf_counter
        start = clock() + 0.1
        measured_from = start + warmup
        n = int(rate * (warmup + seconds))

        async def one(i: int, due: float) -> None:
            nonlocal errors, total
            body, headers = encoded[i % len(encoded)]
            if mark in body:
                body = body.replace(mark, f"{nonce}{i}".encode())
            ok = False
            try:
                async with session.post(url, data=body, headers=headers) as r:
                    await r.read()
                    ok = r.status == 200
            except (aiohttp.ClientError, TimeoutError):
                pass
            total += 1
            if due >= measured_from:
                latencies.append(clock() - due)
                errors += not ok

        tasks: set[asyncio.Task[None]] = set()
        for i in range(n):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            t = asyncio.create_task(one(i, due))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        end_sched = clock()
        await asyncio.gather(*tasks)
        drained = clock()
    latencies.sort()
    window = max(end_sched, drained) - measured_from
    return {"offered": rate, "completed": len(latencies), "total": total, "errors": errors,
            "rate": len(latencies) / window if window > 0 else 0.0,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "p999_ms": percentile(latencies, 99.9) * 1000,
            "max_ms": (latencies[-1] if latencies else float("nan")) * 1000}


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:  # uvloop: the generator's own overhead per request is what limits its rate
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", required=True)
    p.add_argument("--bodies", type=Path, required=True, help="JSON list of [body, key]")
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=256)
    a = p.parse_args(argv)
    bodies = [(str(b), str(k)) for b, k in json.loads(a.bodies.read_text())]
    t0 = time.process_time()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        out = runner.run(run(a.url, bodies, a.rate, a.seconds, a.warmup, a.connections))
    out["loadgen_cpu_s"] = time.process_time() - t0
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
