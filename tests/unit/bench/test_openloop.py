"""The open-loop generator charges a stall to every request that was due during it
(no coordinated omission), and keeps to its schedule."""

from __future__ import annotations

import asyncio
import time

from quoteflow.bench.openloop import percentile, run


def test_stall_is_charged_to_requests_due_during_it() -> None:
    async def main() -> dict[str, float]:
        stalled_at = time.perf_counter() + 0.6
        stall_s = 0.4

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            while True:
                try:
                    head = await r.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                n = next(int(x.split(b":")[1]) for x in head.split(b"\r\n")
                         if x.lower().startswith(b"content-length"))
                await r.readexactly(n)
                # one server-wide stall: everything arriving in it waits for its end
                now = time.perf_counter()
                if stalled_at <= now < stalled_at + stall_s:
                    await asyncio.sleep(stalled_at + stall_s - now)
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run(f"http://127.0.0.1:{port}/", [("{}", "k")], rate=200,
                             seconds=1.5, warmup=0.2, connections=64)
        finally:
            server.close()

    out = asyncio.run(main())
    assert out["errors"] == 0
    assert out["completed"] == 300  # 200/s for the 1.5 measured seconds
    # ~80 of 300 requests were due inside the 0.4 s stall: the p99 and max carry it
    # (a closed-loop client would have sent fewer requests and hidden it)
    assert out["max_ms"] >= 300
    assert out["p99_ms"] >= 250
    assert out["p50_ms"] < out["p99_ms"]


def test_503s_are_counted_as_shed_and_their_latency_kept() -> None:
    async def main() -> dict[str, float]:
        n = 0

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            nonlocal n
            while True:
                try:
                    head = await r.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                size = next(int(x.split(b":")[1]) for x in head.split(b"\r\n")
                            if x.lower().startswith(b"content-length"))
                await r.readexactly(size)
                n += 1
                status = b"503 Service Unavailable" if n % 4 == 0 else (
                    b"500 Internal Server Error" if n % 4 == 1 else b"200 OK")
                w.write(b"HTTP/1.1 %s\r\nContent-Length: 2\r\n\r\n{}" % status)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run(f"http://127.0.0.1:{port}/", [("{}", "k")], rate=200,
                             seconds=1.0, warmup=0.0, connections=8)
        finally:
            server.close()

    out = asyncio.run(main())
    assert out["completed"] == 200  # every answer, 200 or not, has a latency
    assert out["shed"] == 50  # the 503s
    assert out["errors"] == 100  # 503s and 500s: every non-200


def test_percentile() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([], 99) != percentile([], 99)  # nan
