"""Benchmark `quoteflow score` against raw onnxruntime on the same rows, in one run.

    .venv/bin/python loadtest/bench_batch.py --registry var/registry --model motor:1 \\
        --model motor:2 [--rows 1000000 [--rows 16000000]] [--workdir /tmp/bench-batch]

For each model: `score` runs as its own process (reading the book, judging every row as
the live API would, deriving features, ONNX, writing Parquet; not the plot, a fixed
cost per run), and its rows/s come from its summary; peak RSS is that process's own
high water (VmHWM, sampled every 20 ms).
"Raw" is one onnxruntime session with the same options (inference's: one intra-op
thread) over the book's feature matrix, built beforehand and not timed. "I/O only" is
what no scoring run can beat: score's own reader streaming the book's request columns
plus score's own writer writing the priced rows it produced (read back first, not
timed), with nothing judged, derived or run.
The machine is shared and noisy: read the ratios, which are taken within one run,
rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from quoteflow import products
from quoteflow.batch.job import DEFAULT_CHUNK_ROWS
from quoteflow.batch.judged import judge
from quoteflow.batch.reader import open_book
from quoteflow.batch.scorer import ONNX_BATCH_ROWS, Scorer, load_model
from quoteflow.batch.writer import PricedWriter
from quoteflow.bench.procstat import peak_rss_mib
from quoteflow.products.motor.requests import write_book
from quoteflow.registry import Registry


def feature_matrix(book: Path, scorer: Scorer) -> np.ndarray:
    today = dt.datetime.now(dt.UTC).date()
    parts = []
    for batch in pq.ParquetFile(book).iter_batches(batch_size=200_000):
        parts.append(scorer.features(judge(scorer.product, batch, False, today, today)))
    return np.concatenate(parts)


def raw_rows_per_second(scorer: Scorer, x: np.ndarray, repeats: int = 2) -> float:
    session = scorer.model._session
    assert session is not None
    best = float("inf")
    for _ in range(repeats):  # best of: the least disturbed by neighbours
        t = time.perf_counter()
        for i in range(0, len(x), ONNX_BATCH_ROWS):
            session.run(None, {"features": x[i:i + ONNX_BATCH_ROWS]})
        best = min(best, time.perf_counter() - t)
    return len(x) / best


def io_rows_per_second(book: Path, priced: Path, workdir: Path) -> float:
    """Rows/s of reading the book and writing its priced rows, and nothing else."""
    written = pq.ParquetFile(priced)
    tables = [written.read_row_group(i) for i in range(written.num_row_groups)]
    t = time.perf_counter()
    motor = products.get("motor")
    rows = sum(c.num_rows for c in open_book(book, motor).chunks(DEFAULT_CHUNK_ROWS))
    out = PricedWriter(workdir / "io-only.parquet")
    for table in tables:
        out.write(table)
    out.commit()
    return rows / (time.perf_counter() - t)


def score_process(model: str, registry: Path, book: Path, out: Path) -> tuple[float, float]:
    """(rows/s from score's summary, peak RSS in MiB) of one `quoteflow score` process."""
    cmd = [sys.executable, "-m", "quoteflow.cli", "score", "--model", model, "--input",
           str(book), "--output", str(out), "--registry", str(registry), "--no-plot"]
    peak = 0.0
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, text=True)
        while proc.poll() is None:  # VmHWM only grows: the last reading is the peak
            peak = max(peak, peak_rss_mib(proc.pid) or 0.0)
            time.sleep(0.02)
        stdout.seek(0)
        stderr.seek(0)
        text = stdout.read()
        if proc.returncode != 0:
            raise SystemExit(f"score failed ({proc.returncode}):\n{text}\n{stderr.read()}")
    m = re.search(r"time\s+[\d.]+ s, ([\d,]+) rows/s", text)
    if not m:
        raise SystemExit(f"no summary from score:\n{text}")
    print(text)
    return float(m.group(1).replace(",", "")), peak


def book_for(workdir: Path, rows: int) -> Path:
    book = workdir / f"book-{rows}.parquet"
    if not book.exists():
        t = time.perf_counter()
        write_book(book, rows)
        print(f"wrote {book} ({rows:,} rows) in {time.perf_counter() - t:.1f}s")
    return book


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--registry", type=Path, default=Path("var/registry"))
    ap.add_argument("--model", action="append", default=None)
    ap.add_argument("--rows", type=int, action="append", default=None,
                    help="book size; repeat to see peak RSS stay flat as the book grows")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bench-batch"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for n in args.rows or [1_000_000]:
        book = book_for(args.workdir, n)
        for ref in args.model or ["motor"]:
            scorer = Scorer(load_model(Registry(args.registry), ref))
            x = feature_matrix(book, scorer)
            raw = raw_rows_per_second(scorer, x)
            del x
            priced = args.workdir / "priced.parquet"
            rate, rss = score_process(ref, args.registry, book, priced)
            io = io_rows_per_second(book, priced, args.workdir)
            results.append((f"{ref} v{scorer.model.version}", n, raw, rate, io, rss))
    print(f"{'model':<14}{'rows':>11}{'raw onnxruntime':>18}{'quoteflow score':>18}"
          f"{'ratio':>8}{'I/O only':>16}{'ratio':>8}{'score peak RSS':>16}")
    for name, n, raw, rate, io, rss in results:
        print(f"{name:<14}{n:>11,}{raw:>14,.0f} r/s{rate:>14,.0f} r/s{rate / raw:>8.0%}"
              f"{io:>12,.0f} r/s{io / raw:>8.0%}{rss:>12,.0f} MiB")


if __name__ == "__main__":
    main()
