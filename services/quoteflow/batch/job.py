"""One scoring run: stream the book, judge, price, write, count; the CLI only presents it."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from quoteflow.batch.judged import Judged, judge
from quoteflow.batch.pipeline import Background, prefetch
from quoteflow.batch.plot import PremiumStats, headline_edges, render
from quoteflow.batch.reader import BookError, open_book
from quoteflow.batch.scorer import Scorer, load_compare, load_model
from quoteflow.batch.writer import PricedWriter, RejectWriter, default_rejects_path
from quoteflow.registry import Registry

DEFAULT_CHUNK_ROWS = 100_000


@dataclass
class Options:
    model: str
    input: Path
    output: Path
    registry: Path
    rejects: Path | None = None
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    compare: str | None = None
    plot: Path | None = None
    quote_date: dt.date | None = None  # for rows without one; default today (UTC)
    today: dt.date | None = None  # the live API's "today" (UTC), for the forward-date rule


@dataclass
class Summary:
    model: str
    version: str
    sha256: str
    rows: int = 0
    priced: int = 0
    rejected: int = 0
    rejected_by_field: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    output: Path | None = None
    rejects: Path | None = None
    plot: Path | None = None
    mean_premium: float | None = None
    compare_version: str | None = None
    compare_mean_premium: float | None = None
    row_by_row: list[str] = field(default_factory=list)  # see scorer.batch_invariant

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[int], object]  # what it returns is ignored (tqdm's update)


def run(opts: Options, progress: Progress | None = None,
        on_start: Callable[[int | None], None] | None = None) -> Summary:
    """Score a whole book; rejected rows go to the side file and never stop the run."""
    start = time.perf_counter()
    if opts.chunk_rows < 1:
        raise ValueError("chunk rows must be at least 1")
    today = opts.today or dt.datetime.now(dt.UTC).date()
    priced = PricedWriter(opts.output)  # a bad output path fails before any work
    if opts.plot and not opts.plot.parent.is_dir():
        raise BookError(f"{opts.plot}: plot folder {opts.plot.parent} does not exist")
    registry = Registry(opts.registry)
    model = load_model(registry, opts.model)
    compare = load_compare(registry, model, opts.compare) if opts.compare else None
    scorer = Scorer(model, compare)
    book = open_book(opts.input, scorer.product)
    if on_start:
        on_start(book.num_rows)
    csv = book.format == "csv"
    rejects_path = opts.rejects or default_rejects_path(opts.output)
    summary = Summary(model.name, model.version, model.sha256, output=opts.output,
                      rejects=rejects_path, compare_version=compare.version if compare else None)
    stats = PremiumStats(compare.version if compare else None,
                         edges=headline_edges(scorer.product))
    writes = Background(priced.write)

    def prepared() -> Iterator[tuple[pa.RecordBatch, Judged, np.ndarray]]:
        for chunk in book.chunks(opts.chunk_rows):
            judged = judge(scorer.product, chunk, csv, today, opts.quote_date or today)
            yield chunk, judged, scorer.features(judged)

    try:
        with RejectWriter(rejects_path) as rejects:
            offset = 0
            for chunk, judged, x in prefetch(prepared()):
                table = scorer.price(judged, x, offset, _carried(chunk))
                writes.submit(table)
                head = scorer.product.headline_column
                stats.add(table.column(head).to_numpy(),
                          table.column(f"compare_{head}").to_numpy() if compare else None)
                carried = chunk.column("policy_id") if "policy_id" in chunk.schema.names else None
                for i, body, errors in judged.rejected:
                    rejects.write(offset + i + 1, body, errors,
                                  carried[i].as_py() if carried is not None else None)
                offset += chunk.num_rows
                if progress:
                    progress(chunk.num_rows)
            writes.close()
            summary.rejected_by_field = dict(rejects.by_field)
            summary.rejected = rejects.rows
        priced.commit()
    except BaseException:
        writes.close_quietly()
        priced.abort()
        raise
    summary.rows, summary.priced = offset, priced.rows
    summary.row_by_row = scorer.row_by_row
    _finish(summary, stats, scorer, opts.plot)
    summary.seconds = time.perf_counter() - start
    return summary


def _finish(summary: Summary, stats: PremiumStats, scorer: Scorer, plot: Path | None) -> None:
    """Means of the headline column (and of the compared version's), then the plot."""
    if stats.rows:
        summary.mean_premium = stats.total / stats.rows
        if scorer.compare:
            summary.compare_mean_premium = stats.compare_total / stats.rows
    if plot:
        model = scorer.model
        render(stats, plot, f"{model.name} v{model.version}",
               scorer.product.headline_label(model.metadata))
        summary.plot = plot


def _carried(chunk: pa.RecordBatch) -> pa.RecordBatch:
    names = [n for n in chunk.schema.names if n == "policy_id"]
    return chunk.select(names)
