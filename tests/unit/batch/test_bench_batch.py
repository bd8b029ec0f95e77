"""loadtest/bench_batch.py runs and prints one row of figures per model.

Figures are printed, never asserted as speeds (the machine is shared); what is checked
is that every column was measured and that score priced the whole book.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[3]
ROWS = 20_000


def test_bench_batch_measures_every_column(trained_registry: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "loadtest" / "bench_batch.py"), "--registry",
         str(trained_registry), "--model", "motor:1", "--model", "motor:2",
         "--rows", str(ROWS), "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^motor:(\d) v\d\s+([\d,]+) r/s\s+([\d,]+) r/s\s+(\d+)%\s+([\d,]+) r/s\s+(\d+)%"
        r"\s+([\d,]+) MiB$", done.stdout, re.M)}
    assert set(rows) == {"1", "2"}, done.stdout
    for raw, score, _, io, _, rss in rows.values():
        assert all(int(v.replace(",", "")) > 0 for v in (raw, score, io, rss))
    assert pq.ParquetFile(tmp_path / "io-only.parquet").metadata.num_rows == \
        pq.ParquetFile(tmp_path / "priced.parquet").metadata.num_rows
    counts = re.findall(r"^priced\s+([\d,]+) .*\nrejected\s+([\d,]+)", done.stdout, re.M)
    assert len(counts) == 2, done.stdout  # one summary per model
    for priced, rejected in counts:
        assert int(priced.replace(",", "")) + int(rejected.replace(",", "")) == ROWS
