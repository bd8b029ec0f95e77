"""Open-loop load at a fixed rate, free of coordinated omission.

Request i is due at ``start + i / rate`` whatever happened to earlier ones; its
latency is measured from that due time, not from when it actually left, so a
stalled server is charged for the queue it causes (wrk2's rule). Runs as its own
process (``python -m quoteflow.bench.openloop``) so it can be pinned to a core
and its CPU kept apart from the services'. Requests go through the router's own
keep-alive client (router/http_client.py): ~150 us of generator CPU a request here
against aiohttp's ~360 us, which matters beyond the chain's maximum, where the
generator shares the machine with a chain it floods.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from quoteflow.bench.workload import UNIQUE
from quoteflow.router.http_client import ClientError, HttpClient

TIMEOUT_S = 10.0  # a request without an answer by then counts as failed


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


async def run(url: str, bodies: list[tuple[str, str]], rate: float, seconds: float,
              warmup: float, connections: int) -> dict[str, float]:
    latencies: list[float] = []  # every answer's, 200 or not: the p99 is of all of them
    served: list[float] = []  # the 200s' alone
    errors = 0  # anything but a 200
    shed = 0  # 503s: refused (the router sheds what it cannot answer in time)
    total = 0
    encoded = [(b.encode(), f"X-Customer-Key: {k}\r\n".encode()) for b, k in bodies]
    mark, nonce = UNIQUE.encode(), uuid.uuid4().hex[:12]  # every quote new (workload.py)
    client = HttpClient(limit_per_origin=connections)
    try:
        # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds
        clock = time.perf_counter
        start = clock() + 0.1
        measured_from = start + warmup
        n = int(rate * (warmup + seconds))

        async def one(i: int, due: float) -> None:
            nonlocal errors, shed, total
            body, headers = encoded[i % len(encoded)]
            if mark in body:
                body = body.replace(mark, f"{nonce}{i}".encode())
            status = -1  # no HTTP answer: connection error or client timeout
            with contextlib.suppress(ClientError):
                status, _ = await client.post(url, body, TIMEOUT_S, headers)
            total += 1
            if due >= measured_from:
                latencies.append(clock() - due)
                errors += status != 200
                if status == 200:
                    served.append(latencies[-1])
                shed += status == 503

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
    finally:
        client.close()
    latencies.sort()
    served.sort()
    window = max(end_sched, drained) - measured_from
    return {"offered": rate, "completed": len(latencies), "total": total, "errors": errors,
            "shed": shed,
            "rate": len(latencies) / window if window > 0 else 0.0,
            "p50_ms": percentile(latencies, 50) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000,
            "p999_ms": percentile(latencies, 99.9) * 1000,
            "p99_200_ms": percentile(served, 99) * 1000,
            "max_ms": (latencies[-1] if latencies else float("nan")) * 1000}


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:  # uvloop: the generator's own overhead per request is what limits its rate
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


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
