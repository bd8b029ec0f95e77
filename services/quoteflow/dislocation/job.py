"""Price a book on two versions with the batch scorer, review the change, write and
record the review."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from quoteflow import products
from quoteflow.batch import job as batch_job
from quoteflow.batch.reader import BookError, file_format
from quoteflow.dislocation import report
from quoteflow.dislocation.review import Review, review
from quoteflow.registry import Registry, RegistryError


@dataclass(frozen=True)
class Written:
    review: Review
    folder: Path
    summary_sha256: str


def _book_rows(path: Path, row_numbers: np.ndarray) -> pd.DataFrame:
    """The book's rows by 1-based row number, every cell as read (text for CSV)."""
    frame = (pd.read_csv(path, dtype=str, keep_default_na=False)
             if file_format(path) == "csv" else pd.read_parquet(path))
    return frame.iloc[row_numbers - 1].reset_index(drop=True)


def reviews_path(registry: Registry, model: str) -> Path:
    return registry.root / model / "reviews.jsonl"


def recorded(registry: Registry, model: str) -> list[dict[str, object]]:
    """Every review recorded for the model, oldest first."""
    path = reviews_path(registry, model)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _record(registry: Registry, r: Review, folder: Path, digest: str, book_sha: str) -> None:
    entry = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
             "model": r.model, "from": r.from_version, "to": r.to_version,
             "book": r.book, "book_sha256": book_sha, "policies": r.policies,
             "folder": str(folder), "summary_sha256": digest,
             "within_limits": r.within_limits, "breaches": r.breaches, "shares": r.shares}
    with reviews_path(registry, r.model).open("a") as f:
        f.write(json.dumps(entry, sort_keys=True) + "\n")


def run(registry_dir: Path, from_ref: str, to_ref: str, book: Path, out: Path) -> Written:
    registry = Registry(registry_dir)
    old, new = registry.resolve(from_ref), registry.resolve(to_ref)
    if old.name != new.name:
        raise RegistryError(f"--from {old.name} and --to {new.name}: a review compares two "
                            "versions of one model")
    if not book.is_file():
        raise BookError(f"{book}: no such file")
    product = products.of_metadata(new.metadata)
    with tempfile.TemporaryDirectory(prefix="dislocation-") as tmp:
        priced_path = Path(tmp) / "priced.parquet"
        summary = batch_job.run(batch_job.Options(
            model=f"{new.name}:{new.version}", compare=old.version, input=book,
            output=priced_path, registry=registry.root))
        priced = pq.read_table(priced_path).to_pandas()
    rows = _book_rows(book, priced["row_number"].to_numpy())
    r = review(new.name, old.version, new.version, str(book), priced,
               product.segments(rows, priced["quote_date"].astype(str).to_numpy()),
               summary.rejected, product.dislocation_limits(new.metadata))
    out.mkdir(parents=True, exist_ok=True)
    change = priced["premium"].to_numpy() / priced["compare_premium"].to_numpy() - 1
    pngs = report.plots(r, change)
    for name, data in pngs.items():
        (out / name).write_bytes(data)
    (out / "report.md").write_text(report.markdown(r, list(pngs)))
    summary_bytes = json.dumps(r.as_json(), indent=2, sort_keys=True).encode()
    (out / "summary.json").write_bytes(summary_bytes)
    digest = hashlib.sha256(summary_bytes).hexdigest()
    _record(registry, r, out, digest, hashlib.sha256(book.read_bytes()).hexdigest())
    return Written(r, out, digest)
