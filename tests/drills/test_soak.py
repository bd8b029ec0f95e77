"""Drill: a steady rate for a long time (2.5 minutes by default: the suite's budget).

QUOTEFLOW_SOAK_SECONDS sets the length (3600 for an hour before a release);
QUOTEFLOW_SOAK_RATE the quotes per second. Zero errors, and the resident memory
of every process flat within 10% between the end of the warm-up and the end.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

from tests.drills.load import DrillLoad, rss_mib
from tests.e2e.helpers import get_text, make_stack, metric_value

SECONDS = float(os.environ.get("QUOTEFLOW_SOAK_SECONDS", "150"))
RATE = float(os.environ.get("QUOTEFLOW_SOAK_RATE", "150"))
SAMPLE_EVERY = 5.0


@pytest.mark.timeout(int(SECONDS) + 240)
def test_soak_steady_rate_zero_errors_flat_memory(trained_registry: Path,
                                                 tmp_path: Path) -> None:
    # 20% Green with shadow on: every code path a rollout uses, drift windows filling
    st = make_stack(trained_registry, tmp_path, green_weight=20, shadow=True)
    warmup = min(60.0, SECONDS / 5)  # caches, pools, drift windows and allocator arenas
    samples: dict[str, list[tuple[float, float]]] = {s: [] for s in st.services()}
    with st:
        with DrillLoad(st.config.url("router"), rate=RATE) as load:
            start = time.monotonic()
            while (now := time.monotonic() - start) < SECONDS:
                for s, p in st.procs.items():
                    samples[s].append((now, rss_mib(p.pid)))
                time.sleep(SAMPLE_EVERY)
        metrics = get_text(st.config.url("router") + "/metrics")  # every quote answered
    # memory after warm-up (first minute of the rest) against the last minute
    drift: dict[str, float] = {}
    for s, series in samples.items():
        early = [m for t, m in series if warmup <= t < warmup + 60] or [series[0][1]]
        late = [m for t, m in series if t >= SECONDS - 60] or [series[-1][1]]
        drift[s] = statistics.median(late) / statistics.median(early) - 1
    counted = metric_value(metrics, "quoteflow_quotes_total", {"status": "200"})
    load.figures("soak", seconds=round(SECONDS), router_counted_200=int(counted),
                 **{f"rss_mib_{s}": round(series[-1][1]) for s, series in samples.items()},
                 **{f"rss_change_pct_{s}": round(100 * d, 1) for s, d in drift.items()})
    assert not load.failed, load.failed[:3]
    assert len(load.sent) >= 0.95 * RATE * SECONDS
    assert counted == len(load.sent)  # the router counted every quote the client got
    assert all(abs(d) <= 0.10 for d in drift.values()), drift
