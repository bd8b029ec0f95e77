"""loadtest/bench_batch.py runs and prints one row of figures per model and book size.

Figures are printed, never asserted as speeds or sizes (the machine is shared); what
is checked is that every column was measured and that score accounted for every row.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[3]
SIZES = (5_000, 20_000)


def test_bench_batch_measures_every_column(trained_registry: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "loadtest" / "bench_batch.py"), "--registry",
         str(trained_registry), "--model", "motor:1", "--model", "motor:2",
         *(a for n in SIZES for a in ("--rows", str(n))), "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    table = re.findall(
        r"^motor:(\d) v\d\s+([\d,]+)\s+([\d,]+) r/s\s+([\d,]+) r/s\s+\d+%\s+([\d,]+) r/s"
        r"\s+\d+%\s+([\d,]+) MiB$", done.stdout, re.M)
    assert sorted((m, int(n.replace(",", ""))) for m, n, *_ in table) == sorted(
        (m, n) for m in "12" for n in SIZES), done.stdout
    for *_, raw, score, io, rss in table:
        assert all(int(v.replace(",", "")) > 0 for v in (raw, score, io, rss))
    counts = re.findall(r"^rows\s+([\d,]+)\npriced\s+([\d,]+) .*\nrejected\s+([\d,]+)",
                        done.stdout, re.M)
    assert len(counts) == 4, done.stdout  # one summary per score run
    for rows, priced, rejected in counts:
        assert int(priced.replace(",", "")) + int(rejected.replace(",", "")) == \
            int(rows.replace(",", ""))
    # the last run's I/O-only pass rewrote exactly what score wrote
    assert pq.ParquetFile(tmp_path / "io-only.parquet").metadata.num_rows == \
        pq.ParquetFile(tmp_path / "priced.parquet").metadata.num_rows
