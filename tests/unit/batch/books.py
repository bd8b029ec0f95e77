"""Small books for the batch tests: rows as the website's JSON bodies, written to a file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from quoteflow.products.motor.requests import book_table

QUOTE_DATE = dt.date(2026, 6, 1)
GOOD = {"driver_birth_date": "1985-04-12", "vehicle_first_registration_date": "2019-09-01",
        "vehicle_power": 6, "vehicle_brand": "B12", "area": "C", "bonus_malus": 50,
        "customer_key": "cust-1", "quote_date": QUOTE_DATE.isoformat()}


def synthetic(path: Path, rows: int, seed: int = 3, bad_share: float = 0.02) -> Path:
    t = book_table(rows, seed, QUOTE_DATE, bad_share)
    write(path, t)
    return path


def write(path: Path, table: pa.Table) -> None:
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)


def from_rows(path: Path, rows: list[dict[str, Any]], schema: pa.Schema | None = None) -> Path:
    """Rows to a file; absent keys are empty cells. Types follow ``schema`` or arrow's."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {n: [r.get(n) for r in rows] for n in names}
    table = pa.table(cols, schema=schema) if schema else pa.table(cols)
    write(path, table)
    return path


def read(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={"policy_id": pa.string(), "model_version": pa.string(),
                      "compare_version": pa.string()}))
