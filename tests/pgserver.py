"""A throwaway PostgreSQL server for tests, from Debian's package (bootstrap installs it).

Never a server already running: each ``PgServer`` has its own data folder under /tmp,
its own port and socket folder, and is stopped at the end. As root the server runs as
the ``postgres`` user (initdb refuses root) through ``runuser``. About 1 s to start.

Use the fixtures by importing them into a conftest.py or test module::

    from tests.pgserver import pg_server, pg_database  # noqa: F401

``pg_server`` (session) is shared; ``pg_database`` gives each test its own database;
``PgServer`` itself can be started by a test that needs to stop and restart a server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN = Path(os.environ.get("QUOTEFLOW_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, port: int | None = None) -> None:
        if not (BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL in {BIN}: run scripts/bootstrap.sh "
                               "(Debian package postgresql)")
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="qf-pg-", dir="/tmp"))
        self.data, self.sock, self.log = self.root / "data", self.root / "sock", self.root / "log"
        self.sock.mkdir()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(BIN / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.log.read_text()[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}\n{log}")

    @property
    def url(self) -> str:
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30",
                  "-o", f"-k {self.sock} -p {self.port} -h 127.0.0.1 -c fsync=on", "start")

    def stop(self, mode: str = "fast") -> None:
        """``mode`` immediate is a crash (no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def psql(self, sql: str, database: str = "postgres") -> str:
        cmd = [str(BIN / "psql"), "-h", str(self.sock), "-p", str(self.port), "-U", "postgres",
               "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {done.stderr}")
        return done.stdout.strip()

    def create_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        self.psql(f"CREATE DATABASE {name}")
        return self.database_url(name)

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def _running_server() -> Iterator[PgServer]:
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    yield from _running_server()


@pytest.fixture(scope="module")
def pg() -> Iterator[PgServer]:
    """A server of the module's own, for tests that stop and start it (outages)."""
    yield from _running_server()


@pytest.fixture
def pg_database(pg_server: PgServer) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.create_database()
