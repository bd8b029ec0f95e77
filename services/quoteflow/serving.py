"""`quoteflow serve <service>`: run one service under uvicorn.

uvloop + httptools and no access log: the levers measured on this kind of machine. SIGTERM is
a graceful shutdown: stop accepting, then, for up to IDLE_DRAIN_S, answer each open
keep-alive connection's next request with `Connection: close` (uvicorn alone closes an
idle connection at once, and a client that sent on it just then gets a reset, not an
answer), then uvicorn's own: finish in-flight requests (up to the drain timeout) and run
the app's shutdown.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import click
import uvicorn
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.importer import import_from_string

from quoteflow.logs import configure_logging

DEFAULT_PORTS = {"router": 8000, "preprocess": 8001, "inference": 8002}


def listen(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT: a replacement process can bind the same
    port before the old one drains, so a restart on one machine refuses no connection."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


# A client's pool uses each connection well within this at any real rate; a connection
# still idle after it is closed as uvicorn would.
IDLE_DRAIN_S = 2.0


class Draining:
    """Once ``on`` (the process got SIGTERM), every response says `Connection: close`, so
    each client leaves a connection after its answer instead of racing its close."""

    on = False

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not Draining.on or scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)
        await self.app(scope, receive, closing)


class DrainingServer(uvicorn.Server):
    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:  # stop accepting (uvicorn's shutdown does it again)
            server.close()
        for sock in sockets or []:
            sock.close()
        Draining.on = True
        deadline = time.monotonic() + IDLE_DRAIN_S
        while self.server_state.connections and time.monotonic() < deadline \
                and not self.force_exit:
            await asyncio.sleep(0.02)
        await super().shutdown()


# what moves to the admin port when one is set: writes and the scrape endpoint
ADMIN_PREFIXES = ("/admin", "/metrics")
PROBES = ("/healthz", "/readyz")


class PortSplit:
    """Admin API and /metrics on their own port, the rest on the public one.

    With an admin port, the public port answers 404 to /admin/* and /metrics and the
    admin port answers only those and the probes: a NetworkPolicy or firewall can
    then open the public port to the world and the admin port to operators and
    Prometheus only. Which port a request came in on is the ASGI scope's `server`.
    """

    def __init__(self, app: ASGIApp, admin_port: int) -> None:
        self.app, self.admin_port = app, admin_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            on_admin = (scope.get("server") or ("", 0))[1] == self.admin_port
            path: str = scope["path"]
            admin_path = path.startswith(ADMIN_PREFIXES)
            if admin_path != on_admin and not (on_admin and path in PROBES):
                await PlainTextResponse("Not Found", 404)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def run(app_factory: str, service: str, host: str, port: int, log_level: str,
        drain_seconds: float, admin_port: int | None = None) -> None:
    configure_logging(service, log_level)
    sockets = [listen(host, port)]
    factory = import_from_string(app_factory)
    app: Callable[[], ASGIApp] = lambda: Draining(factory())  # noqa: E731
    if admin_port:
        sockets.append(listen(host, admin_port))
        app = lambda: Draining(PortSplit(factory(), admin_port))  # noqa: E731
    config = uvicorn.Config(app, factory=True, host=host, port=port, loop="uvloop",
                            http="httptools", access_log=False, log_config=None,
                            log_level=log_level.lower(),
                            # no Server/Date headers to build per response; forwarded
                            # headers are not trusted (nothing here uses the client IP)
                            server_header=False, date_header=False, proxy_headers=False,
                            timeout_graceful_shutdown=int(drain_seconds), timeout_keep_alive=30)
    DrainingServer(config).run(sockets=sockets)


def _command(service: str, factory: str, help_text: str) -> click.Command:
    prefix = f"QUOTEFLOW_{service.upper()}_"

    @click.command(name=service, help=help_text)
    @click.option("--host", envvar=prefix + "HOST", default="127.0.0.1", show_default=True)
    @click.option("--port", envvar=prefix + "PORT", default=DEFAULT_PORTS[service], type=int,
                  show_default=True)
    @click.option("--log-level", envvar="QUOTEFLOW_LOG_LEVEL", default="INFO", show_default=True)
    @click.option("--drain-seconds", envvar="QUOTEFLOW_DRAIN_SECONDS", default=10.0,
                  show_default=True, help="how long SIGTERM waits for in-flight requests")
    @click.option("--admin-port", envvar=prefix + "ADMIN_PORT", default=None, type=int,
                  help="serve /admin/* and /metrics on this port only (default: the "
                       "main port serves everything)")
    def cmd(host: str, port: int, log_level: str, drain_seconds: float,
            admin_port: int | None) -> None:
        if admin_port == port:
            raise click.BadParameter("must differ from --port", param_hint="--admin-port")
        run(factory, service, host, port, log_level, drain_seconds, admin_port)

    return cmd


@click.group()
def serve() -> None:
    """Run one service (settings from QUOTEFLOW_<SERVICE>_* environment variables)."""


serve.add_command(_command("preprocess", "quoteflow.preprocess.app:create_app",
                           "Validate quote requests and derive model features."))
serve.add_command(_command("inference", "quoteflow.inference.app:create_app",
                           "Serve one pinned ONNX model version from the registry."))
serve.add_command(_command("router", "quoteflow.router.app:create_app",
                           "Public quote API: traffic policy, sticky split, shadow, failover."))
