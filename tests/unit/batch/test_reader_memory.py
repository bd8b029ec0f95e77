"""Streaming a Parquet book holds a bounded amount of Arrow memory, whatever its length.

Arrow's own allocation counter is exact (not a noisy RSS reading): with pyarrow's
default pre-buffering, ParquetFile.iter_batches kept every row group read so far until
the end (apache/arrow#39808), so a book four times longer held four times the memory.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from quoteflow import products
from quoteflow.batch.reader import open_book
from quoteflow.products.motor.requests import book_table

from .books import QUOTE_DATE

GROUP_ROWS = 20_000  # both books are longer than the reader's batches (64 Ki rows)


def write_book(path: Path, groups: int) -> Path:
    with pq.ParquetWriter(path, book_table(1, 0, QUOTE_DATE).schema) as writer:
        for g in range(groups):
            writer.write_table(book_table(GROUP_ROWS, g, QUOTE_DATE))
    return path


def peak_arrow_bytes(path: Path) -> tuple[int, int]:
    """(rows streamed, most Arrow bytes allocated at any chunk, above the start)."""
    start, peak, rows = pa.total_allocated_bytes(), 0, 0
    for chunk in open_book(path, products.get("motor")).chunks(GROUP_ROWS):
        rows += chunk.num_rows
        peak = max(peak, pa.total_allocated_bytes() - start)
    return rows, peak


def test_streaming_memory_does_not_grow_with_the_book(tmp_path: Path) -> None:
    short_rows, short_peak = peak_arrow_bytes(write_book(tmp_path / "short.parquet", 8))
    long_rows, long_peak = peak_arrow_bytes(write_book(tmp_path / "long.parquet", 32))
    assert (short_rows, long_rows) == (8 * GROUP_ROWS, 32 * GROUP_ROWS)
    print(f"peak Arrow allocation: {short_peak / 2**20:.1f} MiB for {short_rows:,} rows, "
          f"{long_peak / 2**20:.1f} MiB for {long_rows:,} rows")
    assert long_peak < 1.5 * short_peak
