"""A synthetic book for benchmarks and tests: plausible policies, a few bad rows.

Written chunk by chunk, so a book of any size is generated in bounded memory. Not
for model quality (that is measured on real data): the marginals are rough
freMTPL-like shapes, and ``bad_share`` of rows break one rule the live API enforces.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from quoteflow.products.motor.features import AREAS, BRANDS

AREA_P = (0.05, 0.11, 0.28, 0.32, 0.24)
BRAND_P = (0.26, 0.22, 0.08, 0.04, 0.05, 0.04, 0.31)


def book_table(n: int, seed: int, quote_date: dt.date, bad_share: float = 0.0,
               first_id: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    qd = np.datetime64(quote_date, "D")
    age_days = (rng.gamma(9.0, 5.0, n) + 18.2).clip(18.1, 90.9) * 365.25
    born = qd - age_days.astype("timedelta64[D]")
    vehicle_days = rng.exponential(6.5, n).clip(0, 45) * 365.25
    registered = qd - vehicle_days.astype("timedelta64[D]")
    power = rng.poisson(2.5, n).clip(0, 11) + 4
    bm = np.where(rng.random(n) < 0.6, 50, rng.integers(50, 157, n))
    area = rng.choice(np.array(AREAS, dtype=object), n, p=AREA_P)
    brand = rng.choice(np.array(BRANDS, dtype=object), n, p=BRAND_P)
    bad = np.flatnonzero(rng.random(n) < bad_share)
    kind = rng.integers(0, 3, len(bad))
    bm[bad[kind == 0]] = 200  # outside the rated range
    power[bad[kind == 1]] = 30
    born[bad[kind == 2]] = qd - np.timedelta64(16 * 365, "D")  # under the legal age
    ids = np.arange(first_id, first_id + n)
    return pa.table({
        "policy_id": pa.array([f"P{i:09d}" for i in ids]),
        "driver_birth_date": pa.array(born, pa.date32()),
        "vehicle_first_registration_date": pa.array(registered, pa.date32()),
        "vehicle_power": pa.array(power, pa.int64()),
        "vehicle_brand": pa.array(brand, pa.string()),
        "area": pa.array(area, pa.string()),
        "bonus_malus": pa.array(bm, pa.int64()),
        "customer_key": pa.array([f"cust-{i}" for i in ids]),
        "quote_date": pa.repeat(pa.scalar(quote_date, pa.date32()), n),
    })


def write_book(path: Path, rows: int, seed: int = 0, quote_date: dt.date | None = None,
               bad_share: float = 0.001, chunk_rows: int = 200_000) -> Path:
    """Write a synthetic book of ``rows`` rows to .parquet or .csv."""
    quote_date = quote_date or dt.datetime.now(dt.UTC).date()
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    try:
        for k, start in enumerate(range(0, rows, chunk_rows)):
            t = book_table(min(chunk_rows, rows - start), seed * 100_003 + k, quote_date,
                           bad_share, start)
            if writer is None:
                writer = (pq.ParquetWriter(path, t.schema) if path.suffix == ".parquet"
                          else pacsv.CSVWriter(path, t.schema))
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
    return path


if __name__ == "__main__":
    import sys

    print(write_book(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
