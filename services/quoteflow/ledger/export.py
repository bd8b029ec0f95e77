"""Ledger records to flat files for the actuary: Parquet (pyarrow) or CSV.

One row per quote, the reason flattened into ``reason_*`` columns. The premium is
written as decimal text in both formats so that it stays exact (a float column would
not); the features are a list<double> in Parquet and JSON text in CSV.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson

from quoteflow.ledger.record import QuoteRecord, json_default

FIELDS = (
    "quote_id", "product", "quoted_at", "valid_until", "bound_at", "customer_key",
    "request_json", "request_sha256", "request_key", "features", "features_schema",
    "model_name", "model_version", "model_sha256", "color", "reason_bucket",
    "reason_policy_generation", "reason_failover_from", "reason_requote", "premium",
    "currency", "breakdown", "router_instance", "trace_id",
)
FORMATS = (".parquet", ".csv")
_BATCH = 5000


def flat(r: QuoteRecord) -> dict[str, Any]:
    return {
        "quote_id": r.quote_id, "product": r.product, "quoted_at": r.quoted_at,
        "valid_until": r.valid_until, "bound_at": r.bound_at, "customer_key": r.customer_key,
        "request_json": r.request_json, "request_sha256": r.request_sha256,
        "request_key": r.request_key, "features": r.features,
        "features_schema": r.features_schema, "model_name": r.model_name,
        "model_version": r.model_version, "model_sha256": r.model_sha256, "color": r.color,
        "reason_bucket": r.reason.bucket, "reason_policy_generation": r.reason.policy_generation,
        "reason_failover_from": r.reason.failover_from, "reason_requote": r.reason.requote,
        "premium": str(r.premium), "currency": r.currency,
        "breakdown": orjson.dumps(r.breakdown, default=json_default,
                                  option=orjson.OPT_SORT_KEYS).decode(),
        "router_instance": r.router_instance, "trace_id": r.trace_id,
    }


def check_output(path: Path) -> None:
    if path.suffix not in FORMATS:
        raise ValueError(f"{path}: the output's extension picks the format, one of "
                         f"{', '.join(FORMATS)}")
    if not path.parent.is_dir():
        raise ValueError(f"{path}: folder {path.parent} does not exist")


async def write(records: AsyncIterator[QuoteRecord], path: Path) -> int:
    """Write every record to ``path`` (format from its extension); the count written."""
    check_output(path)
    if path.suffix == ".csv":
        return await _csv(records, path)
    return await _parquet(records, path)


async def _csv(records: AsyncIterator[QuoteRecord], path: Path) -> int:
    n = 0
    with path.open("w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=FIELDS)
        out.writeheader()
        async for r in records:
            row = flat(r)
            row["features"] = orjson.dumps(r.features).decode()
            for k in ("quoted_at", "valid_until", "bound_at"):
                row[k] = "" if row[k] is None else row[k].isoformat()
            out.writerow(row)
            n += 1
    return n


def _arrow_schema() -> Any:
    import pyarrow as pa

    ts = pa.timestamp("us", tz="UTC")
    types = {"quoted_at": ts, "valid_until": ts, "bound_at": ts,
             "features": pa.list_(pa.float64()), "reason_bucket": pa.int32(),
             "reason_policy_generation": pa.int64(), "reason_requote": pa.bool_()}
    return pa.schema([(name, types.get(name, pa.string())) for name in FIELDS])


async def _parquet(records: AsyncIterator[QuoteRecord], path: Path) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ModuleNotFoundError:
        raise RuntimeError("Parquet export needs pyarrow (pip install 'quoteflow[batch]'); "
                           "or write .csv") from None
    schema = _arrow_schema()
    n, rows = 0, []
    with pq.ParquetWriter(path, schema) as out:
        async for r in records:
            rows.append(flat(r))
            if len(rows) >= _BATCH:
                out.write_table(pa.Table.from_pylist(rows, schema=schema))
                n, rows = n + len(rows), []
        if rows or n == 0:  # an empty export still has its columns
            out.write_table(pa.Table.from_pylist(rows, schema=schema))
            n += len(rows)
    return n
