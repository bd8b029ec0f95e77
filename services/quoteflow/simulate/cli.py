"""``quoteflow simulate``: aggregate annual loss of a book (or single claims) by Monte Carlo."""

from __future__ import annotations

import time
from pathlib import Path

import click
import numpy as np

from quoteflow.cli_options import model_ref_option, registry_option
from quoteflow.registry import RegistryError


def _money(v: float) -> str:
    return f"{v:,.0f}"


@click.command("simulate")
@model_ref_option("registered model: its frequency graph and its severity metadata")
@click.option("--book", "book_path", type=click.Path(path_type=Path),
              help="the book: .parquet or .csv of quote requests (one policy-year a row)")
@click.option("--years", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="simulated years")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--parameter-uncertainty", is_flag=True,
              help="each year draws its severity parameters from the stored posterior")
@click.option("--claims", "n_claims", type=click.IntRange(min=1),
              help="instead of a book: draw this many single claims from the severity")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path),
              help="PNG of the simulated distribution [default: none]")
@registry_option
def simulate(model_ref: str, book_path: Path | None, years: int, seed: int,
             parameter_uncertainty: bool, n_claims: int | None, plot_path: Path | None,
             registry_dir: Path) -> None:
    """Simulate a book's aggregate annual loss: mean, std, VaR and TVaR at 99% and 99.5%.

    Claim counts come from the model's frequency (ONNX, on the book's features), amounts
    from the severity model in its metadata (no pickle). With --claims N, single claims.
    """
    from quoteflow.batch.reader import BookError
    from quoteflow.batch.scorer import ModelLoadError

    if (book_path is None) == (n_claims is None):
        raise click.UsageError("give either --book FILE or --claims N")
    if plot_path is not None and not plot_path.parent.is_dir():
        raise click.BadParameter(f"folder {plot_path.parent} does not exist", param_hint="--plot")
    try:
        if n_claims is not None:
            _claims(model_ref, registry_dir, n_claims, seed, plot_path)
        else:
            assert book_path is not None
            _book(model_ref, registry_dir, book_path, years, seed, parameter_uncertainty,
                  plot_path)
    except (BookError, ModelLoadError, RegistryError, ValueError) as e:
        raise click.ClickException(str(e)) from e


def _claims(model_ref: str, registry_dir: Path, n: int, seed: int, plot: Path | None) -> None:
    from quoteflow.actuarial import aggregate
    from quoteflow.actuarial.severity_dist import from_metadata
    from quoteflow.registry import Registry
    from quoteflow.simulate.plot import write_png

    mv = Registry(registry_dir).resolve(model_ref)
    meta = mv.metadata["severity"]
    sev = from_metadata(meta)
    x = aggregate.single_claims(sev, n, seed)
    cur = meta.get("currency", "")
    trunc = f", truncation {sev.truncation:,.0f} {cur}" if sev.truncation else ""
    click.echo(f"{n:,} claims from {mv.name}:{mv.version} severity ({meta.get('label', sev.kind)}"
               f"{trunc})")
    click.echo(f"  mean {_money(x.mean())} (model {_money(float(sev.mean()))}), "
               f"median {_money(float(np.median(x)))}")
    for q in (0.9, 0.99, 0.995):
        click.echo(f"  {q:.1%} quantile {_money(float(np.quantile(x, q)))} "
                   f"(model {_money(float(sev.ppf(q)))})")
    if plot:
        write_png(x, plot, f"{n:,} single claims, {mv.name}:{mv.version}", f"claim ({cur})")
        click.echo(f"plot: {plot}")


def _book(model_ref: str, registry_dir: Path, book_path: Path, years: int, seed: int,
          uncertainty: bool, plot: Path | None) -> None:
    from tqdm import tqdm

    from quoteflow.actuarial import aggregate
    from quoteflow.actuarial.severity_dist import from_metadata
    from quoteflow.simulate.book import book_frequency
    from quoteflow.simulate.plot import write_png

    started = time.perf_counter()
    with tqdm(unit=" rows", unit_scale=True, desc="features", disable=None, leave=False) as bar:
        bf = book_frequency(registry_dir, model_ref, book_path, progress=bar.update)
    meta = bf.model.metadata["severity"]
    sev = from_metadata(meta)
    post = aggregate.posterior_models(meta) if uncertainty else None
    lam = float(bf.frequency.sum())
    with tqdm(total=years, unit=" years", unit_scale=True, desc="simulate", disable=None,
              leave=False) as bar:
        losses = aggregate.annual_losses(lam, sev, years, seed, post, progress=bar.update)
    s = aggregate.risk_summary(losses)
    cur = bf.model.metadata["pricing"]["currency"]
    click.echo(f"model {bf.model.name}:{bf.model.version}; book {book_path}: {bf.rows:,} rows, "
               f"{len(bf.frequency):,} simulated, {bf.rejected:,} rejected as the live API "
               f"would (see `quoteflow score --rejects`)")
    click.echo(f"severity {meta.get('label', sev.kind)}, mean {_money(float(sev.mean()))} {cur}"
               f"; expected claims a year {lam:,.2f}; parameter uncertainty "
               f"{'on' if uncertainty else 'off'}")
    click.echo(f"{years:,} years, seed {seed}: expected loss (frequency x mean severity) "
               f"{_money(lam * float(sev.mean()))} {cur}")
    click.echo(f"  mean      {_money(s.mean):>16} {cur}")
    click.echo(f"  std       {_money(s.std):>16} {cur}")
    for q in aggregate.LEVELS:
        click.echo(f"  VaR {q:.1%}  {_money(s.var[q]):>16} {cur}   TVaR {q:.1%}  "
                   f"{_money(s.tvar[q]):>16} {cur}")
    if plot:
        write_png(losses, plot, f"aggregate annual loss, {bf.model.name}:{bf.model.version}, "
                  f"{years:,} years", f"annual loss ({cur})", s)
        click.echo(f"plot: {plot}")
    click.echo(f"done in {time.perf_counter() - started:.1f} s")
