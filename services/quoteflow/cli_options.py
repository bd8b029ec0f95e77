"""Options and readers every command shares, defined once: registry, model, admin token."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

DEFAULT_WORKDIR = Path("var/run")
ADMIN_TOKEN_ENV = "QUOTEFLOW_ADMIN_TOKEN"

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
