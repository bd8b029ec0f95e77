"""Steady quote load for the drills, and the figures every drill prints.

Open loop: quotes are sent on a fixed schedule whatever the answers do, so a stall
shows up as latency and failures instead of silently slowing the sender down.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from quoteflow.bench import procstat
from tests.e2e.helpers import quote_body


@dataclass
class Sent:
    status: int  # -1: no HTTP answer (connection refused or reset, client timeout)
    seconds: float
    color: str | None
    failover_from: str | None
    error: str = ""
    at: float = 0.0  # time.monotonic() when it was sent
    version: str | None = None  # model version that priced it
    quote_id: str | None = None
    retry_after: str | None = None  # the header of a 503


def rss_mib(pid: int) -> float:
    """Resident memory of a stack process, which must be alive to be measured."""
    mib = procstat.rss_mib(pid)
    if mib is None:
        raise RuntimeError(f"no VmRSS for pid {pid}: the process is gone")
    return mib


def p99_ms(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class DrillLoad:
    """Quotes at `rate` per second from a background thread until the block exits.

    `client_timeout` is the website's own patience: a quote without an answer
    by then counts as failed (status -1), so a hang cannot pass for slowness.
    """

    def __init__(self, url: str, rate: float, concurrency: int = 64,
                 client_timeout: float = 5.0, body: Any = None,
                 path: str = "/v1/quote") -> None:
        self.url, self.rate, self.concurrency = url, rate, concurrency
        self.path = path  # a product's public path
        self.client_timeout = client_timeout
        self.body = body or (lambda i: quote_body(customer_key=f"drill-{i}",
                                                  bonus_malus=50 + i % 100))
        self.sent: list[Sent] = []
        self.started = self.ended = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    async def _run(self) -> None:
        sem = asyncio.Semaphore(self.concurrency)
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        tasks: set[asyncio.Task[None]] = set()
        timeout = aiohttp.ClientTimeout(total=self.client_timeout)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async def one(i: int) -> None:
                async with sem:
                    t0 = time.perf_counter()
                    at = time.monotonic()
                    try:
                        async with session.post(self.url + self.path, json=self.body(i)) as r:
                            body = await r.json(content_type=None)
                            model = (body.get("model") or {}) if r.status == 200 else {}
                            self.sent.append(Sent(
                                r.status, time.perf_counter() - t0, model.get("color"),
                                r.headers.get("x-quoteflow-failover-from"),
                                "" if r.status == 200 else str(body)[:300], at,
                                model.get("version"), body.get("quote_id"),
                                r.headers.get("Retry-After")))
                    except (TimeoutError, aiohttp.ClientError) as e:
                        self.sent.append(Sent(-1, time.perf_counter() - t0, None, None,
                                              f"{type(e).__name__}: {e}", at))

            self.started = time.monotonic()
            while not self._stop.is_set():
                due = start + n / self.rate
                await asyncio.sleep(max(0.0, due - loop.time()))
                t = asyncio.create_task(one(n))
                tasks.add(t)
                t.add_done_callback(tasks.discard)
                n += 1
            await asyncio.gather(*tasks)
            self.ended = time.monotonic()

    def __enter__(self) -> DrillLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)
        assert not self._thread.is_alive(), "load generator did not finish"

    @property
    def failed(self) -> list[Sent]:
        return [s for s in self.sent if s.status != 200]

    def figures(self, name: str, **extra: Any) -> dict[str, Any]:
        """Print the drill's figures (shown by pytest -s and in the CI log on failure):
        `answered` is any HTTP answer, `failed` anything but a 200, the p99 is over all
        answers; pass stack_memory(st.procs) as extra for resident memory."""
        answered = [s.seconds for s in self.sent if s.status > 0]
        out: dict[str, Any] = {
            "drill": name, "sent": len(self.sent), "answered": len(answered),
            "failed": len(self.failed), "p99_ms": round(p99_ms(answered), 1),
            "rate_per_s": round(len(self.sent) / max(1e-9, self.ended - self.started), 1),
            **extra}
        report(**out)
        return out


# every drill's figures of this session, printed again in pytest's summary
# (tests/drills/conftest.py) so that CI's log shows them for passing drills too
DRILL_LINES: list[str] = []


def report(**figures: Any) -> None:
    line = "DRILL " + " ".join(f"{k}={v}" for k, v in figures.items())
    DRILL_LINES.append(line)
    print(line, flush=True)


def stack_memory(procs: dict[str, Any]) -> dict[str, int]:
    """Resident MiB of a Stack's running processes, as figure names."""
    return {f"rss_mib_{name}": round(rss_mib(p.pid))
            for name, p in procs.items() if p.poll() is None}
