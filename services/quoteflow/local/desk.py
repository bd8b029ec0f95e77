"""The claims desk as a local process beside the claims router, for `quoteflow up`.

It answers the Supervisor's questions as a Stack does (procs, start_service, ready,
log_tail), so a desk that exits is restarted like any other process. Its first two
users (an agent and a reviewer) are made on first start with random passwords, kept
in the work directory (mode 600) and printed at every start: a laptop's dev accounts.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from quoteflow.local.stack import StackError, terminate

SERVICE = "desk"
FIRST_USERS = (("agent", "agent"), ("reviewer", "reviewer"))


class DeskRunner:
    def __init__(self, workdir: Path, port: int, router_url: str) -> None:
        self.workdir = workdir.resolve()
        self.port = port
        self.router_url = router_url
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.workdir / 'desk.sqlite3'}"

    @property
    def users_file(self) -> Path:
        return self.workdir / "desk-users.json"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTEFLOW_DESK_")}
        env.update({"QUOTEFLOW_DESK_HOST": "127.0.0.1", "QUOTEFLOW_DESK_PORT": str(self.port),
                    "QUOTEFLOW_DESK_ROUTER_URL": self.router_url,
                    "QUOTEFLOW_DESK_DATABASE_URL": self.database_url,
                    "QUOTEFLOW_DESK_DOCUMENTS_DIR": str(self.workdir / "documents")})
        return env

    def start_service(self, service: str = SERVICE) -> None:
        log = (self.workdir / f"{SERVICE}.log").open("ab")
        self.procs[SERVICE] = subprocess.Popen(
            [sys.executable, "-m", "quoteflow.cli", "desk", "serve"], env=self.env(),
            stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 60.0) -> None:
        self.start_service()
        deadline = time.monotonic() + timeout
        while not self.ready():
            proc = self.procs[SERVICE]
            if proc.poll() is not None:
                raise StackError(f"desk exited with {proc.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise StackError(f"desk not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def ready(self, service: str = SERVICE) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, service: str = SERVICE, lines: int = 20) -> str:
        path = self.workdir / f"{SERVICE}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        proc = self.procs.get(SERVICE)
        if proc is not None and proc.poll() is None:
            terminate(proc, 15.0)

    def first_users(self) -> list[dict[str, str]]:
        """The dev accounts, made once (random passwords) and read back afterwards."""
        if self.users_file.exists():
            return list(json.loads(self.users_file.read_text()))
        from quoteflow.desk.cli import add_user

        users = [{"username": name, "role": role, "password": secrets.token_urlsafe(12)}
                 for name, role in FIRST_USERS]
        for u in users:
            asyncio.run(add_user(self.database_url, u["username"], u["role"], u["password"]))
        fd = os.open(self.users_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(users, f)
        return users
