"""Ledger drills: the router SIGKILLed under open-loop load, and PostgreSQL stopped for
five seconds under load. Every quote id a client received with a 200 must be in the
ledger afterwards, and every recorded quote must replay identical from the registry.
Real processes, real HTTP, a real PostgreSQL started by this module (tests/pgserver.py).
"""

from __future__ import annotations

import asyncio
import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from quoteflow.ledger.settings import LedgerSettings, make_store
from quoteflow.local.stack import Stack
from tests.drills.load import DrillLoad, Sent
from tests.e2e.helpers import make_stack
from tests.pgserver import PgServer


def ledger_url(st: Stack) -> str:
    return st.config.ledger_url or f"sqlite:///{st.config.ledger_file}"


def missing_from_ledger(url: str, sent: list[Sent]) -> list[str]:
    """The quote ids answered 200 that the ledger does not hold."""
    ids = [s.quote_id for s in sent if s.status == 200]
    assert all(ids), "a 200 without a quote id"
    store = make_store(LedgerSettings(url=url, timeout=30.0), create=False)

    async def check() -> list[str]:
        await store.open()
        try:
            return [i for i in ids if await store.get(i) is None]  # type: ignore[misc]
        finally:
            await store.close()

    return asyncio.run(check())


def replay_all(url: str, registry: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "quoteflow.cli", "quotes", "replay",
                           "--since", "2000-01-01", "--registry", str(registry),
                           "--ledger", url], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_router_sigkilled_under_load_loses_no_answered_quote(
        store: str, trained_registry: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg").create_database() if store == "postgresql" else None
    st = make_stack(trained_registry, tmp_path, green_weight=50, ledger_url=url)
    with st, DrillLoad(st.config.url("router"), rate=100, client_timeout=2.0) as load:
        time.sleep(2.0)
        st.signal("router", signal.SIGKILL)  # mid-commit, mid-answer: whatever is in flight
        st.procs["router"].wait(5)
        st.start_service("router")
        st.wait_ready("router")
        time.sleep(2.0)
    missing = missing_from_ledger(ledger_url(st), load.sent)
    replayed = replay_all(ledger_url(st), trained_registry)
    answered = sum(s.status == 200 for s in load.sent)
    load.figures(f"router_sigkill_ledger_{store}", answered_200=answered,
                 missing_from_ledger=len(missing), replay=replayed.replace(" ", "_"))
    assert missing == [], missing[:5]
    assert answered > 300
    assert replayed.endswith(" 0 differ"), replayed


@pytest.mark.expect_log_errors  # the router logs the outage it answers 503 for
def test_postgres_stopped_for_five_seconds_under_load(pg: PgServer, trained_registry: Path,
                                                      tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path, ledger_url=pg.create_database())
    with st, DrillLoad(st.config.url("router"), rate=50, client_timeout=3.0) as load:
        time.sleep(2.0)
        stopped = time.monotonic()
        pg.stop("immediate")
        time.sleep(5.0)
        pg.start()
        restarted = time.monotonic()
        time.sleep(4.0)
    statuses = {s.status for s in load.sent}
    outage = [s for s in load.sent if s.status == 503]
    after = [s for s in load.sent if s.at > restarted + 2.0]
    missing = missing_from_ledger(ledger_url(st), load.sent)
    replayed = replay_all(ledger_url(st), trained_registry)
    load.figures("postgres_stopped_5s", status_503=len(outage),
                 answered_200=sum(s.status == 200 for s in load.sent),
                 first_503_after_stop_ms=round(1000 * (min(s.at for s in outage) - stopped))
                 if outage else None, missing_from_ledger=len(missing))
    assert statuses <= {200, 503}, [s for s in load.sent if s.status not in (200, 503)][:3]
    assert outage, "no 503 while PostgreSQL was down"
    assert all(s.retry_after for s in outage), outage[:3]
    assert after and all(s.status == 200 for s in after), [s for s in after if s.status != 200][:3]
    assert missing == [], missing[:5]
    assert replayed.endswith(" 0 differ"), replayed


def fill(path: Path) -> int:
    """Write ``path`` until the file system refuses (ENOSPC); the bytes written."""
    written = 0
    with path.open("wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
                written += 65536
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return written


@pytest.mark.expect_log_errors  # the router logs the commits the full disk refused
def test_ledger_disk_full_under_load(trained_registry: Path, tmp_path: Path) -> None:
    """Issue 29: the SQLite ledger's file system fills up under load (a 6 MiB tmpfs and a
    file written until ENOSPC): answers turn to 503 with Retry-After, nothing answered is
    lost, and quotes flow again once the file is removed."""
    mount = tmp_path / "ledger-fs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)], check=True)
    try:
        url = f"sqlite:///{mount}/ledger.sqlite3"
        st = make_stack(trained_registry, tmp_path / "stack", ledger_url=url)
        with st, DrillLoad(st.config.url("router"), rate=100, client_timeout=3.0) as load:
            time.sleep(2.0)
            filled = time.monotonic()
            fill(mount / "filler")
            time.sleep(6.0)
            (mount / "filler").unlink()
            freed = time.monotonic()
            time.sleep(4.0)
        outage = [s for s in load.sent if s.status == 503 and filled <= s.at <= freed]
        after = [s for s in load.sent if s.at > freed + 1.0]
        missing = missing_from_ledger(url, load.sent)
        replayed = replay_all(url, trained_registry)
        load.figures("ledger_disk_full", status_503=len(outage),
                     answered_200=sum(s.status == 200 for s in load.sent),
                     first_503_after_full_ms=round(1000 * (min(s.at for s in outage) - filled))
                     if outage else None, missing_from_ledger=len(missing))
        assert {s.status for s in load.sent} <= {200, 503}
        assert outage, "no 503 while the ledger's disk was full"
        assert all(s.retry_after for s in outage), outage[:3]
        assert after and all(s.status == 200 for s in after), [
            s for s in after if s.status != 200][:3]
        assert missing == [], missing[:5]
        assert replayed.endswith(" 0 differ"), replayed
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
