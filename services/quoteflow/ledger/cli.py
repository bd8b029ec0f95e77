"""``quoteflow quotes``: read, export, summarize and purge the quote ledger.

The ledger holds personal data (see quoteflow/ledger/__init__.py): ``purge
--customer-key`` is the erasure command, ``purge --older-than DAYS`` the retention one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from quoteflow.cli_options import LEDGER_URL_ENV, registry_option
from quoteflow.ledger import export as exporter
from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import QuoteRecord
from quoteflow.ledger.schema import GROUPABLE
from quoteflow.ledger.settings import DEFAULT_URL, LedgerSettings, make_store
from quoteflow.ledger.store import LedgerStore, group_columns

T = TypeVar("T")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

ledger_option = click.option(
    "--ledger", "ledger_url", default=DEFAULT_URL, show_default=True,
    # the CLI's client name, as `rollout --ledger` reads it; the old name still works
    envvar=[LEDGER_URL_ENV, "QUOTEFLOW_LEDGER_URL"], help="sqlite:///path or "
    f"postgresql://... (${LEDGER_URL_ENV}; default: the SQLite file in `quoteflow up`'s "
    "work directory)")


def parse_time(value: str | None, name: str) -> dt.datetime | None:
    """An ISO date (midnight UTC) or date-time (UTC when it names no zone)."""
    if value is None:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO date or date-time "
                                 "(2026-11-01 or 2026-11-01T08:00:00+01:00)",
                                 param_hint=name) from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def run(ledger_url: str, work: Callable[[LedgerStore], Awaitable[T]], *,
        create: bool = False) -> T:
    """Open the store, run ``work``, close it; store problems become clear CLI errors."""
    try:
        store = make_store(LedgerSettings(url=ledger_url, timeout=30.0), create=create)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--ledger") from None

    async def main() -> T:
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    try:
        return asyncio.run(main())
    except (FileNotFoundError, LedgerUnavailable) as e:
        raise click.ClickException(str(e)) from None


@click.group("quotes")
def quotes() -> None:
    """The quote ledger: every quote answered, with its model, inputs and price."""


@quotes.command("show")
@click.argument("quote_id")
@ledger_option
def show(quote_id: str, ledger_url: str) -> None:
    """Print the recorded quote QUOTE_ID and its status (quoted, bound, expired)."""
    rec = run(ledger_url, lambda s: s.get(quote_id))
    if rec is None:
        raise click.ClickException(f"no quote {quote_id} in the ledger ({ledger_url})")
    out: dict[str, Any] = {"status": rec.status(dt.datetime.now(dt.UTC)),
                           **rec.model_dump(mode="json")}
    click.echo(orjson.dumps(out, option=orjson.OPT_INDENT_2).decode())


@quotes.command("export")
@click.option("--since", help="first quote time included (ISO; default: the beginning)")
@click.option("--until", help="quote time excluded from here on (ISO; default: now)")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="F.parquet or F.csv")
@ledger_option
def export(since: str | None, until: str | None, output: Path, ledger_url: str) -> None:
    """Write the quotes of a period to Parquet or CSV."""
    lo = parse_time(since, "--since") or EPOCH
    hi = parse_time(until, "--until") or dt.datetime.now(dt.UTC)
    if hi <= lo:
        raise click.BadParameter(f"--until {hi.isoformat()} is not after --since "
                                 f"{lo.isoformat()}", param_hint="--until")
    try:
        exporter.check_output(output)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--output") from None
    n = run(ledger_url, lambda s: exporter.write(s.export(lo, hi), output))
    click.echo(f"{n} quotes ({lo.isoformat()} .. {hi.isoformat()}) written to {output}")


@quotes.command("stats")
@click.option("--by", default="color,model_version", show_default=True,
              help=f"comma-separated, from: {', '.join(GROUPABLE)} (currency always)")
@click.option("--since", help="ISO date or date-time")
@click.option("--until", help="ISO date or date-time")
@ledger_option
def stats(by: str, since: str | None, until: str | None, ledger_url: str) -> None:
    """Quotes, binds, conversion and mean premium per group: a rollout's business read."""
    cols = [c.strip() for c in by.split(",") if c.strip()]
    lo, hi = parse_time(since, "--since"), parse_time(until, "--until")
    try:
        group_columns(cols)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--by") from None
    rows = run(ledger_url, lambda s: s.stats(cols, lo, hi))
    if not rows:
        click.echo("no quotes in the ledger for that period")
        return
    keys = list(rows[0].group)
    table = [[*keys, "currency", "quotes", "binds", "conversion", "mean_premium"]]
    table += [[*r.group.values(), r.currency, str(r.quotes), str(r.binds),
               f"{r.conversion:.1%}", f"{r.mean_premium:.2f}"] for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


@quotes.command("replay")
@click.argument("quote_id", required=False)
@click.option("--since", help="replay every quote from this time (ISO) instead of one id")
@click.option("--until", help="with --since: up to this time (ISO; default: now)")
@registry_option
@ledger_option
def replay(quote_id: str | None, since: str | None, until: str | None, registry_dir: Path,
           ledger_url: str) -> None:
    """Re-derive and re-price recorded quotes from the registry; exit 1 if any differ."""
    from quoteflow.ledger.replay import Replayer  # onnxruntime: the inference extra
    from quoteflow.registry import Registry

    if (quote_id is None) == (since is None):
        raise click.UsageError("give a QUOTE_ID or --since (not both)")
    replayer = Replayer(Registry(registry_dir))

    async def records(store: LedgerStore) -> list[QuoteRecord]:
        if quote_id is not None:
            rec = await store.get(quote_id)
            if rec is None:
                raise click.ClickException(f"no quote {quote_id} in the ledger ({ledger_url})")
            return [rec]
        lo = parse_time(since, "--since") or EPOCH
        hi = parse_time(until, "--until") or dt.datetime.now(dt.UTC)
        return [r async for r in store.export(lo, hi)]

    recs = run(ledger_url, records)
    differing = 0
    for rec in recs:
        result = replayer.replay(rec)
        if not result.identical:
            differing += 1
            click.echo(f"{rec.quote_id}: DIFFERS: {'; '.join(result.differences)}")
        elif quote_id is not None:
            click.echo(f"{rec.quote_id}: identical ({rec.model_name} v{rec.model_version}, "
                       f"{rec.premium} {rec.currency})")
    click.echo(f"{len(recs):,} quote(s) replayed: {len(recs) - differing:,} identical, "
               f"{differing:,} differ")
    if differing:
        raise SystemExit(1)


@quotes.command("purge")
@click.option("--customer-key", help="erasure: delete every quote with this customer key")
@click.option("--older-than", type=click.IntRange(min=0),
              help="retention: delete quotes quoted more than DAYS days ago, bound or not")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@ledger_option
def purge(customer_key: str | None, older_than: int | None, yes: bool, ledger_url: str) -> None:
    """Delete quotes: one customer's (erasure) or all older than a period (retention)."""
    if (customer_key is None) == (older_than is None):
        raise click.UsageError("give exactly one of --customer-key K or --older-than DAYS")
    if customer_key is not None:
        key = customer_key
        what = f"every quote with customer key {key!r}"

        def work(s: LedgerStore) -> Awaitable[int]:
            return s.purge_customer(key)
    else:
        assert older_than is not None
        cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=older_than)
        what = f"every quote quoted before {cutoff.isoformat(timespec='seconds')}"

        def work(s: LedgerStore) -> Awaitable[int]:
            return s.purge_older_than(cutoff)
    if not yes:
        click.confirm(f"Delete {what} from {ledger_url}?", abort=True)
    n = run(ledger_url, work)
    click.echo(f"deleted {n} quotes ({what})")
