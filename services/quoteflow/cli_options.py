"""Options and readers the commands share, each defined once: registry, model, actor,
routers, admin token, Prometheus.

Environment variables. A service reads ``QUOTEFLOW_<SERVICE>_<SETTING>`` (its
settings.py: ``QUOTEFLOW_ROUTER_ADMIN_TOKEN``, ``QUOTEFLOW_INFERENCE_PORT``...). A
variable read by the command line as a client of those services is named
``QUOTEFLOW_CLI_<NAME>``, so that it never looks like a service's:

- ``QUOTEFLOW_CLI_ROUTER_URLS``: the routers `quoteflow traffic` and `rollout` talk to
  (space-separated);
- ``QUOTEFLOW_CLI_ADMIN_TOKEN``: the token they present to a router's admin API (and
  the one `quoteflow up` gives the routers it starts);
- ``QUOTEFLOW_CLI_PROMETHEUS_URL``: where `quoteflow rollout` reads its evidence;
- ``QUOTEFLOW_CLI_LEDGER_URL``, ``QUOTEFLOW_CLI_DESK_URL``: where it reads the business
  outcomes (motor's binds, claims' reviewer decisions).

Their old names (``QUOTEFLOW_ROUTER_URLS``, under the router's own prefix;
``QUOTEFLOW_ADMIN_TOKEN``, a word away from the router's ``QUOTEFLOW_ROUTER_ADMIN_TOKEN``;
``QUOTEFLOW_PROMETHEUS_URL``) are still read for one release, each use warned of
(``DeprecationWarning`` and a line on stderr); the new name wins when both are set.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

DEFAULT_WORKDIR = Path("var/run")
CLIENT_PREFIX = "QUOTEFLOW_CLI_"
ROUTER_URLS_ENV = CLIENT_PREFIX + "ROUTER_URLS"
ADMIN_TOKEN_ENV = CLIENT_PREFIX + "ADMIN_TOKEN"
PROMETHEUS_URL_ENV = CLIENT_PREFIX + "PROMETHEUS_URL"
LEDGER_URL_ENV = CLIENT_PREFIX + "LEDGER_URL"
DESK_URL_ENV = CLIENT_PREFIX + "DESK_URL"
# new name -> the name it had before the client prefix (read until the next release)
OLD_NAMES = {ROUTER_URLS_ENV: "QUOTEFLOW_ROUTER_URLS", ADMIN_TOKEN_ENV: "QUOTEFLOW_ADMIN_TOKEN",
             PROMETHEUS_URL_ENV: "QUOTEFLOW_PROMETHEUS_URL"}
# `quoteflow up` writes {model: router URL} here, so that `quoteflow traffic --model X`
# finds the router of X with no --router.
ROUTERS_FILE = DEFAULT_WORKDIR / "routers.json"
DEFAULT_ROUTER = "http://127.0.0.1:8000"
DEFAULT_PROMETHEUS = "http://127.0.0.1:9090"
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def client_env(name: str) -> str | None:
    """$name, else its old name's value, with a DeprecationWarning and a line on stderr."""
    if os.environ.get(name):
        return os.environ[name]
    old = OLD_NAMES.get(name)
    if old is None or not os.environ.get(old):
        return None
    message = f"${old} is deprecated and read for one more release only: set ${name}"
    warnings.warn(message, DeprecationWarning, stacklevel=2)
    click.echo(f"quoteflow: warning: {message}", err=True)
    return os.environ[old]


registry_option = click.option(
    "--registry", "registry_dir", envvar="QUOTEFLOW_REGISTRY_DIR", default=Path("var/registry"),
    show_default=True, type=click.Path(path_type=Path),
    help="model registry directory [env QUOTEFLOW_REGISTRY_DIR]")


def model_option(default: str | None = "motor", help: str = "model name") -> Decorator:
    """A registered model's name (its traffic policy section, its rollout)."""
    return click.option("--model", "model_name", default=default, show_default=True,
                        required=default is None, help=help)


def model_ref_option(help: str) -> Decorator:
    """One version of a registered model: its latest, a version, or the latest in a stage."""
    return click.option("--model", "model_ref", required=True,
                        metavar="NAME[:VERSION|@STAGE]", help=help)


def default_actor() -> str:
    """$USER, else this process's login name (containers often lack $USER), else
    'quoteflow'."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "quoteflow"


def actor_option(help: str = "who makes the change (recorded in the audit trail)") -> Decorator:
    return click.option("--actor", default=default_actor,
                        show_default="$USER, else the login name", help=help)


router_option = click.option(
    "--router", "routers", multiple=True,
    help="router base URL (repeat for several local replicas and models) [default: "
         f"${ROUTER_URLS_ENV}, else the routers `quoteflow up` runs, else {DEFAULT_ROUTER}]")

token_file_option = click.option(
    "--token-file", type=click.Path(path_type=Path),
    help=f"admin token file (default ${ADMIN_TOKEN_ENV}, then {DEFAULT_WORKDIR}/admin-token)")

prometheus_option = click.option(
    "--prometheus", "prometheus_url",
    default=lambda: client_env(PROMETHEUS_URL_ENV) or DEFAULT_PROMETHEUS,
    show_default=f"${PROMETHEUS_URL_ENV}, else {DEFAULT_PROMETHEUS}",
    help="the Prometheus the rollout's gates query")

ledger_option = click.option(
    "--ledger", "ledger_url", default=lambda: client_env(LEDGER_URL_ENV),
    show_default=f"${LEDGER_URL_ENV}",
    help="the quote ledger the rollout reads binds from (sqlite:///path or postgresql://...)")

desk_option = click.option(
    "--desk", "desk_url", default=lambda: client_env(DESK_URL_ENV),
    show_default=f"${DESK_URL_ENV}",
    help="the claims desk whose /metrics give the rollout its reviewer outcomes")


def read_admin_token(token_file: Path | None = None) -> str | None:
    """$QUOTEFLOW_CLI_ADMIN_TOKEN, else the token file (default: the local stack's)."""
    token = client_env(ADMIN_TOKEN_ENV)
    if token:
        return token
    path = token_file or DEFAULT_WORKDIR / "admin-token"
    return path.read_text().strip() if path.exists() else None


def ensure_admin_token(workdir: Path) -> tuple[str, str]:
    """The local stack's token and where it came from; made on first start (mode 600)."""
    token = client_env(ADMIN_TOKEN_ENV)
    if token:
        return token, f"${ADMIN_TOKEN_ENV}"
    path = workdir / "admin-token"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip(), str(path)


def read_router_urls(path: Path = ROUTERS_FILE) -> list[str]:
    """$QUOTEFLOW_CLI_ROUTER_URLS, else the local stack's routers (every model's), else
    the default router."""
    urls = (client_env(ROUTER_URLS_ENV) or "").split()
    if urls:
        return urls
    if not path.exists():
        return [DEFAULT_ROUTER]
    try:
        local = json.loads(path.read_text())
    except ValueError as e:
        raise click.ClickException(f"{path}: not the JSON `quoteflow up` writes: {e}") from e
    return [str(u) for u in local.values()] or [DEFAULT_ROUTER]


def write_router_urls(workdir: Path, urls: dict[str, str]) -> None:
    (workdir / ROUTERS_FILE.name).write_text(json.dumps(urls, indent=2) + "\n")
