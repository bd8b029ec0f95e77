"""``quoteflow dislocation``: who moves, by how much, before a new version goes live."""

from __future__ import annotations

from pathlib import Path

import click

from quoteflow.cli_options import registry_option


@click.command("dislocation", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--from", "from_ref", required=True, metavar="NAME:VERSION|NAME@STAGE",
              help="the version in force (e.g. motor@production)")
@click.option("--to", "to_ref", required=True, metavar="NAME:VERSION",
              help="the candidate version")
@click.option("--book", type=click.Path(path_type=Path), required=True,
              help="the book to reprice: CSV or Parquet of quote requests")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="folder for report.md, summary.json and the plots "
                   "[default: var/reviews/NAME-FROM-to-TO]")
@registry_option
def dislocation(from_ref: str, to_ref: str, book: Path, out: Path | None,
                registry_dir: Path) -> None:
    """Price BOOK on both versions and report the change per policy: the share moving
    up or down by more than 5, 10 and 25%, by rating factor level and premium band, the
    largest movers. The review is recorded in the registry; `quoteflow rollout start`
    looks for it. Exit 0 within the product's limits, 3 beyond them."""
    from quoteflow.batch.reader import BookError
    from quoteflow.batch.scorer import ModelLoadError
    from quoteflow.dislocation import job
    from quoteflow.registry import Registry, RegistryError

    try:
        registry = Registry(registry_dir)
        name = registry.resolve(to_ref).name
        frm, to = registry.resolve(from_ref).version, registry.resolve(to_ref).version
        folder = out or Path("var/reviews") / f"{name}-{frm}-to-{to}"
        written = job.run(registry_dir, from_ref, to_ref, book, folder)
    except (BookError, ModelLoadError, RegistryError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    r = written.review
    click.echo(f"{r.model} {r.from_version} -> {r.to_version} on {r.book}: "
               f"{r.policies:,} policies, {r.rejected:,} refused")
    click.echo(f"mean premium {r.mean_from:,.2f} -> {r.mean_to:,.2f} "
               f"({r.mean_to / r.mean_from - 1:+.2%})")
    for pct in (5, 10, 25):
        click.echo(f"  moving by more than {pct:>2}%: up {r.shares[f'up_{pct}']:6.1%}  "
                   f"down {r.shares[f'down_{pct}']:6.1%}")
    click.echo(f"report: {written.folder / 'report.md'} (summary sha256 "
               f"{written.summary_sha256[:12]})")
    if r.within_limits:
        click.echo(f"within the limits {r.limits or '(none configured)'}")
        return
    click.echo("BEYOND the limits: " + "; ".join(r.breaches))
    click.echo("a rollout of this version needs `quoteflow rollout start --accept-dislocation "
               f"{written.folder / 'summary.json'} --reason ... --actor ...`")
    raise SystemExit(3)
