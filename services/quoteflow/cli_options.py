"""Options and readers every command shares, defined once: registry, model, admin token."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click

DEFAULT_WORKDIR = Path("var/run")
ADMIN_TOKEN_ENV = "QUOTEFLOW_ADMIN_TOKEN"
# `quoteflow up` writes {model: router URL} here, so that `quoteflow traffic --model X`
# finds the router of X with no --router.
ROUTERS_FILE = DEFAULT_WORKDIR / "routers.json"
DEFAULT_ROUTER = "http://127.0.0.1:8000"

registry_option = click.option(
    "--registry", "registry_dir", envvar="QUOTEFLOW_REGISTRY_DIR", default=Path("var/registry"),
    show_default=True, type=click.Path(path_type=Path),
    help="model registry directory [env QUOTEFLOW_REGISTRY_DIR]")


def model_option(default: str | None = "motor", help: str = "model name") -> click.Option:
    return click.option("--model", "model_name", default=default, show_default=True,
                        required=default is None, help=help)  # type: ignore[return-value]


token_file_option = click.option(
    "--token-file", type=click.Path(path_type=Path),
    help=f"admin token file (default ${ADMIN_TOKEN_ENV}, then {DEFAULT_WORKDIR}/admin-token)")


def read_admin_token(token_file: Path | None = None) -> str | None:
    """$QUOTEFLOW_ADMIN_TOKEN, else the token file (default: the local stack's)."""
    if os.environ.get(ADMIN_TOKEN_ENV):
        return os.environ[ADMIN_TOKEN_ENV]
    path = token_file or DEFAULT_WORKDIR / "admin-token"
    return path.read_text().strip() if path.exists() else None


def ensure_admin_token(workdir: Path) -> tuple[str, str]:
    """The local stack's token and where it came from; made on first start (mode 600)."""
    if os.environ.get(ADMIN_TOKEN_ENV):
        return os.environ[ADMIN_TOKEN_ENV], f"${ADMIN_TOKEN_ENV}"
    path = workdir / "admin-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip(), str(path)


def read_router_urls(path: Path = ROUTERS_FILE) -> list[str]:
    """The local stack's routers (every model's), else the default router."""
    if not path.exists():
        return [DEFAULT_ROUTER]
    try:
        urls = json.loads(path.read_text())
    except ValueError as e:
        raise click.ClickException(f"{path}: not the JSON `quoteflow up` writes: {e}") from e
    return [str(u) for u in urls.values()] or [DEFAULT_ROUTER]


def write_router_urls(workdir: Path, urls: dict[str, str]) -> None:
    (workdir / ROUTERS_FILE.name).write_text(json.dumps(urls, indent=2) + "\n")
