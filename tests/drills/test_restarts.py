"""Drill: every service restarted one by one under steady load.

Each replacement is started on the same port (SO_REUSEPORT, as a Deployment with
maxUnavailable 0 surges a new pod before the old one goes), becomes ready, and only
then does the old process get SIGTERM: it stops accepting, finishes what is in
flight and exits. preprocess is slowed by 50 ms so that several quotes are always
in flight when a SIGTERM lands.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.drills.load import DrillLoad, stack_memory
from tests.e2e.helpers import make_stack

ORDER = ("preprocess", "inference-blue", "inference-green", "router")


def test_rolling_restart_loses_no_quote(trained_registry: Path, tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path, green_weight=50, shadow=True,
                    env={"preprocess": {"QUOTEFLOW_PREPROCESS_ARTIFICIAL_DELAY_MS": "50"}})
    sigterms: dict[str, float] = {}
    pids: dict[str, tuple[int, int]] = {}
    with st, DrillLoad(st.config.url("router"), rate=100) as load:
        time.sleep(1.5)
        for service in ORDER:
            before = st.procs[service].pid
            sigterms[service] = st.restart_service(service)
            pids[service] = (before, st.procs[service].pid)
            time.sleep(1.5)
        memory = stack_memory(st.procs)
    # quotes the client had in flight at the moment the old process got SIGTERM
    in_flight = {svc: sum(1 for s in load.sent if s.at < t < s.at + s.seconds)
                 for svc, t in sigterms.items()}
    load.figures("rolling_restart", **{f"in_flight_at_sigterm_{k}": v
                                       for k, v in in_flight.items()}, **memory)
    for service, (before, after) in pids.items():
        assert before != after, f"{service} was not replaced"
    assert not load.failed, load.failed[:3]
    assert len(load.sent) > 500
    # with ~5 quotes in flight on average, a SIGTERM that hit none at all four
    # times would mean the drill proved nothing about in-flight requests
    assert sum(in_flight.values()) > 0, in_flight
