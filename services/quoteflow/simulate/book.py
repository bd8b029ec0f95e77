"""Expected claim counts of a book: each row judged and featured as ``quoteflow score`` does,
then the registered model's ONNX graph (its ``frequency`` output, claims per policy-year).

A book row is a quote request for one policy-year. Rows the live API would refuse are
not simulated; they are counted and reported (``quoteflow score --rejects`` lists them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quoteflow.batch.judged import judge
from quoteflow.batch.reader import open_book
from quoteflow.batch.scorer import load_model, predict
from quoteflow.inference.model import OnnxModel
from quoteflow.registry import Registry

CHUNK_ROWS = 100_000


@dataclass
class BookFrequency:
    model: OnnxModel
    frequency: np.ndarray  # expected claims per policy-year, one per priced row
    severity_mean: float  # the graph's severity output (the artifact's mean)
    rows: int
    rejected: int


def book_frequency(registry_dir: Path, model_ref: str, book_path: Path,
                   quote_date: dt.date | None = None,
                   progress: Callable[[int], object] | None = None) -> BookFrequency:
    model = load_model(Registry(registry_dir), model_ref)
    product = model.product
    assert product is not None
    if "frequency" not in product.model_io.output_names:
        raise ValueError(f"model {model.name} has no frequency output: simulate needs a "
                         "frequency x severity pricing model")
    book = open_book(book_path, product)
    today = dt.datetime.now(dt.UTC).date()
    parts, rows, rejected, sev = [], 0, 0, float("nan")
    for chunk in book.chunks(CHUNK_ROWS):
        judged = judge(product, chunk, book.format == "csv", today, quote_date or today)
        rows += chunk.num_rows
        rejected += len(judged.rejected)
        out = predict(model, product.features(judged.columns))
        parts.append(out["frequency"])
        if len(out["severity"]):
            sev = float(out["severity"][0])
        if progress:
            progress(chunk.num_rows)
    freq = np.concatenate(parts) if parts else np.empty(0)
    if len(freq) == 0:
        raise ValueError(f"{book_path}: no row of the book can be priced "
                         f"({rows} rows, {rejected} rejected)")
    return BookFrequency(model, freq, sev, rows, rejected)
