"""Acknowledged means committed: a writer process SIGKILLed while recording under
concurrency loses none of the quotes whose record() had returned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.unit.ledger.records import opened, run

ROOT = Path(__file__).resolve().parents[3]
WRITER = """
import asyncio, sys, uuid
from tests.unit.ledger.records import opened, record

async def one(store, template):
    rec = template.model_copy(update={"quote_id": uuid.uuid4().hex})
    await store.record(rec)
    print(rec.quote_id, flush=True)  # acknowledged: the router would answer now

async def main():
    async with opened(sys.argv[1]) as store:
        template = record(1)
        while True:
            await asyncio.gather(*(one(store, template) for _ in range(32)))

asyncio.run(main())
"""


def test_every_acknowledged_quote_survives_a_sigkill(ledger_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'services'}:{ROOT}"}
    proc = subprocess.Popen([sys.executable, "-c", WRITER, ledger_url], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked: list[str] = []
    try:
        assert proc.stdout is not None
        while len(acked) < 500:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "writer exited"
            acked.append(line.strip())
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    async def missing() -> list[str]:
        async with opened(ledger_url) as store:
            return [q for q in acked if await store.get(q) is None]
    assert run(missing()) == []
