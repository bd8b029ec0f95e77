"""Drill: the traffic policy replaced 100 times a second while quotes flow.

Every quote must be answered by exactly one color with that color's model, no quote
may be lost, and the router's own counters must add up to what the client saw.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from quoteflow.traffic.document import load_policy_file
from tests.drills.load import DrillLoad, stack_memory
from tests.e2e.helpers import TOKEN, get_json, get_text, make_stack, metric_value

VERSIONS = {"blue": "1", "green": "2"}
WEIGHTS = (0, 30, 70, 100)  # consecutive policies always differ


def churn(url: str, per_second: float, seconds: float) -> list[int]:
    """PUT a different policy `per_second` times a second on one keep-alive connection;
    the HTTP status of each PUT, in order."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    statuses: list[int] = []
    start = time.perf_counter()
    n = 0
    while (due := start + n / per_second) < start + seconds:
        time.sleep(max(0.0, due - time.perf_counter()))
        policy = {"blue": {"version": "1"}, "green": {"version": "2"},
                  "green_weight": WEIGHTS[n % len(WEIGHTS)],
                  "shadow": {"enabled": n % 2 == 0, "sample": 1.0}}
        conn.request("PUT", "/admin/traffic", body=json.dumps(policy),
                     headers={"content-type": "application/json",
                              "authorization": f"Bearer {TOKEN}"})
        r = conn.getresponse()
        r.read()
        statuses.append(r.status)
        n += 1
    conn.close()
    return statuses


def test_policy_flipped_100_times_a_second(trained_registry: Path, tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path, green_weight=50)
    with st:
        url = st.config.url("router")
        before_metrics = get_text(url + "/metrics")
        initial = get_json(url + "/admin/traffic")["generation"]
        puts: list[int] = []
        with DrillLoad(url, rate=150) as load:
            time.sleep(0.5)
            t = threading.Thread(target=lambda: puts.extend(churn(url, 100, 5.0)))
            t.start()
            t.join(30)
            time.sleep(0.5)
        after_metrics = get_text(url + "/metrics")
        final = get_json(url + "/admin/traffic")["generation"]
        persisted = load_policy_file(st.config.policy_file)
        memory = stack_memory(st.procs)

    answered = [s for s in load.sent if s.status == 200]
    by_color = {c: sum(1 for s in answered if s.color == c) for c in VERSIONS}
    counted = {c: metric_value(after_metrics, "quoteflow_quotes_total", {"color": c})
               - metric_value(before_metrics, "quoteflow_quotes_total", {"color": c})
               for c in VERSIONS}
    load.figures("policy_churn", policy_puts=len(puts),
                 puts_ok=puts.count(200), generations=final - initial,
                 blue=by_color["blue"], green=by_color["green"], **memory)
    assert len(puts) >= 450 and set(puts) == {200}, sorted(set(puts))
    assert final == initial + len(puts)
    # the file the router persists to holds the last policy, not one from mid-churn
    assert persisted.generation == final
    assert persisted.green_weight == WEIGHTS[(len(puts) - 1) % len(WEIGHTS)]
    assert not load.failed, load.failed[:3]
    assert len(answered) == len(load.sent) > 600
    # each answer names exactly one color, and carries that color's model version
    assert all(s.color in VERSIONS and s.version == VERSIONS[s.color] for s in answered)
    assert by_color["blue"] > 0 and by_color["green"] > 0, by_color
    # the router's counters agree with the client's, color by color
    assert counted == {c: float(n) for c, n in by_color.items()}, (counted, by_color)
