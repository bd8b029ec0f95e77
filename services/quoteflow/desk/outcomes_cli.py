"""``quoteflow claims``: claim triage as its reviewers judged it (reads the desk's
database)."""

from __future__ import annotations

import asyncio
from typing import Any

import click
import orjson

from quoteflow.desk.cli import DB_OPTION, _with_store


@click.group()
def claims() -> None:
    """Claim triage judged by the desk's reviewers."""


@claims.command()
@DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table")
def outcomes(database_url: str, as_json: bool) -> None:
    """Per model version and color: reviewed claims, agreement with the reviewers, fraud
    precision and recall against them, and the decisions' cost under the product's cost
    matrix (the reviewer's label taken as the truth). Only claims a reviewer decided on
    count: triage's paid-at-once claims never reach one."""
    from quoteflow.desk.claims import outcomes as compute
    from quoteflow.ledger.settings import kind_of
    from quoteflow.ledger.sqlite_file import sqlite_path

    # a report reads: a mistyped path must not become a new, empty database
    try:
        kind = kind_of(database_url)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--database") from None
    if kind == "sqlite" and not sqlite_path(database_url).is_file():
        raise click.ClickException(f"no desk database at {sqlite_path(database_url)}")
    found, table = asyncio.run(_with_store(database_url, compute))
    if as_json:
        body: dict[str, Any] = {"currency": table.currency,
                                "outcomes": [o.as_json() for o in found]}
        click.echo(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    from quoteflow.desk.outcomes import table as render

    click.echo(render(found, table.currency))
