"""`quoteflow serve <service>`: run one service under uvicorn.

uvloop + httptools and no access log: the levers FINDINGS.md measured. SIGTERM is
uvicorn's graceful shutdown: stop accepting, finish in-flight requests (up to the
drain timeout), then run the app's shutdown.
"""

from __future__ import annotations

import socket

import click
import uvicorn

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


def run(app_factory: str, service: str, host: str, port: int, log_level: str,
        drain_seconds: float) -> None:
    configure_logging(service, log_level)
    config = uvicorn.Config(app_factory, factory=True, host=host, port=port, loop="uvloop",
                            http="httptools", access_log=False, log_config=None,
                            log_level=log_level.lower(),
                            # no Server/Date headers to build per response; forwarded
                            # headers are not trusted (nothing here uses the client IP)
                            server_header=False, date_header=False, proxy_headers=False,
                            timeout_graceful_shutdown=int(drain_seconds), timeout_keep_alive=30)
    uvicorn.Server(config).run(sockets=[listen(host, port)])


def _command(service: str, factory: str, help_text: str) -> click.Command:
    prefix = f"QUOTEFLOW_{service.upper()}_"

    @click.command(name=service, help=help_text)
    @click.option("--host", envvar=prefix + "HOST", default="127.0.0.1", show_default=True)
    @click.option("--port", envvar=prefix + "PORT", default=DEFAULT_PORTS[service], type=int,
                  show_default=True)
    @click.option("--log-level", envvar="QUOTEFLOW_LOG_LEVEL", default="INFO", show_default=True)
    @click.option("--drain-seconds", envvar="QUOTEFLOW_DRAIN_SECONDS", default=10.0,
                  show_default=True, help="how long SIGTERM waits for in-flight requests")
    def cmd(host: str, port: int, log_level: str, drain_seconds: float) -> None:
        run(factory, service, host, port, log_level, drain_seconds)

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
