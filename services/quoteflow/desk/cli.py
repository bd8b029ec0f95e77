"""``quoteflow desk``: serve the claims desk, add its users, export reviewer decisions."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click
import orjson

DB_OPTION = click.option(
    "--database", "database_url", envvar="QUOTEFLOW_DESK_DATABASE_URL",
    default="sqlite:///var/run/desk.sqlite3", show_default=True,
    help="sqlite:///path or postgresql://... (as QUOTEFLOW_DESK_DATABASE_URL)")


@click.group()
def desk() -> None:
    """The claims desk web app (settings from QUOTEFLOW_DESK_* environment variables)."""


@desk.command()
@click.option("--host", envvar="QUOTEFLOW_DESK_HOST", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="QUOTEFLOW_DESK_PORT", default=8090, type=int,
              show_default=True)
@click.option("--log-level", envvar="QUOTEFLOW_LOG_LEVEL", default="INFO", show_default=True)
@click.option("--drain-seconds", envvar="QUOTEFLOW_DRAIN_SECONDS", default=10.0,
              show_default=True)
def serve(host: str, port: int, log_level: str, drain_seconds: float) -> None:
    """Serve the desk (QUOTEFLOW_DESK_ROUTER_URL names the router)."""
    from quoteflow.serving import run

    run("quoteflow.desk.web.app:create_app", "desk", host, port, log_level, drain_seconds)


async def _with_store(url: str, fn: Any) -> Any:
    from quoteflow.desk.db import make_database
    from quoteflow.desk.store import DeskStore

    db = make_database(url)
    try:
        await db.open()
    except (OSError, sqlite3.Error) as e:  # a wrong path or an unreachable server
        raise click.ClickException(f"cannot open the desk database {url}: {e}") from None
    try:
        return await fn(DeskStore(db))
    finally:
        await db.close()


async def add_user(url: str, username: str, role: str, password: str) -> None:
    """Create a local account (argon2id hash); refuses a name already taken."""
    from quoteflow.desk import accounts
    from quoteflow.desk.db import DatabaseConflict

    digest = accounts.hash_password(password)

    async def add(store: Any) -> None:
        try:
            await store.add_user(username, role, digest)
        except DatabaseConflict:
            raise click.ClickException(f"user {username!r} exists already") from None

    await _with_store(url, add)


@desk.command("add-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "reviewer"]), required=True)
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@DB_OPTION
def add_user_cmd(username: str, role: str, password_stdin: bool, database_url: str) -> None:
    """Add an agent or a reviewer."""
    if not username.strip() or len(username) > 64:
        raise click.BadParameter("1 to 64 characters", param_hint="USERNAME")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        asyncio.run(add_user(database_url, username, role, password))
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"added {role} {username}")


@desk.command("export-decisions")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JSON lines file (default: stdout)")
@DB_OPTION
def export_decisions(out: Path | None, database_url: str) -> None:
    """Every reviewer decision as labelled data (JSON lines: request, label, who, when,
    why, what the triage answer it reviewed had said), oldest first, for retraining the
    triage model (`quoteflow train --product claims --labels FILE`)."""
    from quoteflow.desk.claims import ACTIONS, labelled

    async def rows(store: Any) -> list[dict[str, Any]]:
        return [labelled(d) for d in await store.reviewed(tuple(ACTIONS))]

    lines = [orjson.dumps(r).decode() for r in asyncio.run(_with_store(database_url, rows))]
    text = "".join(line + "\n" for line in lines)
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text)
        click.echo(f"{len(lines)} decision(s) written to {out}", err=True)
