"""loadtest/bench_ledger.py runs and prints one row per store and writer count.

Speeds are printed, never asserted (the machine is shared); what is checked is the
table's shape and that a lone writer commits one record per transaction.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_bench_ledger_prints_every_row(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "services")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "loadtest" / "bench_ledger.py"), "--records", "200",
         "--writers", "16", "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    rows = re.findall(r"^(sqlite|postgresql)\s+(\d+)\s+200\s+([\d,]+) r/s\s+([\d.]+)"
                      r"\s+([\d.]+)x$", done.stdout, re.M)
    assert [(s, int(w)) for s, w, *_ in rows] == [
        ("sqlite", 1), ("sqlite", 16), ("postgresql", 1), ("postgresql", 16)], done.stdout
    for _, writers, rate, batch, ratio in rows:
        assert int(rate.replace(",", "")) > 0
        assert 1.0 <= float(batch) <= int(writers)  # a batch holds at most one per writer
        if writers == "1":
            assert (batch, ratio) == ("1.0", "1.0")
    assert list(tmp_path.glob("*.sqlite3")), "the SQLite runs wrote to --workdir"
