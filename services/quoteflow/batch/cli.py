"""``quoteflow score``: reprice a book offline with the live path's features and model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Never

import click

from quoteflow.batch.job import DEFAULT_CHUNK_ROWS, Options, Summary, run
from quoteflow.batch.plot import default_plot_path
from quoteflow.batch.reader import BookError
from quoteflow.batch.scorer import ModelLoadError
from quoteflow.cli_options import model_ref_option, registry_option
from quoteflow.registry import RegistryError


@click.command("score")
@model_ref_option("model to price with: latest version, a version, or the latest in a stage")
@click.option("--input", "input_path", required=True, type=click.Path(path_type=Path),
              help="the book: .parquet or .csv with the quote request's fields")
@click.option("--output", "output_path", required=True, type=click.Path(path_type=Path),
              help="priced rows: .parquet or .csv")
@registry_option
@click.option("--rejects", "rejects_path", type=click.Path(path_type=Path),
              help="rejected rows, JSON lines [default: OUTPUT beside, .rejects.jsonl]")
@click.option("--chunk-rows", type=click.IntRange(min=1), default=DEFAULT_CHUNK_ROWS,
              show_default=True, help="rows held in memory at a time")
@click.option("--compare", "compare_version", metavar="VERSION",
              help="also price with this version of the same model; adds compare_premium")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="PNG of the premium distribution (and of the change with --compare) "
                   "[default: OUTPUT beside, .premiums.png]")
@click.option("--no-plot", is_flag=True, help="write no plot")
@click.option("--quote-date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="quote date for rows without one [default: today, UTC, as the live API]")
def score(model_ref: str, input_path: Path, output_path: Path, registry_dir: Path,
          rejects_path: Path | None, chunk_rows: int, compare_version: str | None,
          plot_path: Path | None, no_plot: bool, quote_date: dt.datetime | None) -> None:
    """Price every row of a book as the live /v1/quote would, in bulk.

    Rows the live API would refuse are written to the rejects file with its
    messages and never stop the run.
    """
    from tqdm import tqdm

    opts = Options(model=model_ref, input=input_path, output=output_path,
                   registry=registry_dir, rejects=rejects_path, chunk_rows=chunk_rows,
                   compare=compare_version,
                   # on by default: the picture is what a repricing review starts from
                   plot=None if no_plot else plot_path or default_plot_path(output_path),
                   quote_date=quote_date.date() if quote_date else None)
    bar: tqdm[Never] | None = None  # a bar that counts, iterating nothing

    def on_start(total: int | None) -> None:
        nonlocal bar
        bar = tqdm(total=total, unit=" rows", unit_scale=True, desc="scoring",
                   dynamic_ncols=True, disable=None)

    try:
        summary = run(opts, progress=lambda n: bar is not None and bar.update(n),
                      on_start=on_start)
    except (BookError, RegistryError, ModelLoadError, OSError) as e:
        raise click.ClickException(str(e)) from e
    finally:
        if bar is not None:
            bar.close()
    click.echo(render_summary(summary))


def render_summary(s: Summary) -> str:
    lines = [
        f"model      {s.model} version {s.version} (sha256 {s.sha256[:12]})",
        f"rows       {s.rows:,}",
        f"priced     {s.priced:,} -> {s.output}",
        f"rejected   {s.rejected:,} -> {s.rejects}",
    ]
    if s.rejected_by_field:
        top = sorted(s.rejected_by_field.items(), key=lambda kv: -kv[1])
        lines.append("  by field " + ", ".join(f"{k} {v:,}" for k, v in top))
    if s.mean_premium is not None:
        lines.append(f"mean       {s.mean_premium:,.2f}")
    if s.compare_version is not None and s.compare_mean_premium is not None:
        change = s.mean_premium / s.compare_mean_premium - 1 if s.mean_premium else 0.0
        lines.append(f"compare    version {s.compare_version} mean "
                     f"{s.compare_mean_premium:,.2f} ({change:+.2%})")
    if s.plot:
        lines.append(f"plot       {s.plot}")
    if s.row_by_row:
        lines.append(f"row by row version {', '.join(s.row_by_row)}: its graph answers a batch "
                     "not bit for bit as a single row, and live parity comes first")
    lines.append(f"time       {s.seconds:.2f} s, {s.rows_per_second:,.0f} rows/s")
    return "\n".join(lines)
