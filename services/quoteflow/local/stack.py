"""The whole stack as local processes on 127.0.0.1: preprocess, inference-blue,
inference-green and router, each a real `quoteflow serve` process speaking HTTP.

Used by `quoteflow up` and by the end-to-end tests and drills, so that what the
tests exercise is what a developer runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("preprocess", "inference-blue", "inference-green", "router")


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class StackConfig:
    registry_dir: Path
    workdir: Path
    blue_version: str
    green_version: str | None
    model_name: str = "motor"
    green_weight: float = 0
    shadow: bool = False
    shadow_sample: float = 1.0
    admin_token: str | None = None
    ports: dict[str, int] = field(default_factory=dict)
    # per-service extra environment (drills: artificial delays, timeouts)
    env: dict[str, dict[str, str]] = field(default_factory=dict)
    log_level: str = "INFO"
    # the router's quote ledger; None: SQLite in the work directory
    ledger_url: str | None = None
    # A policy file shared with other stacks (one section per model), else workdir's own.
    shared_policy_file: Path | None = None

    def port(self, service: str) -> int:
        if service not in self.ports:
            self.ports[service] = free_port()
        return self.ports[service]

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    @property
    def policy_file(self) -> Path:
        return self.shared_policy_file or self.workdir / "policy.yaml"

    @property
    def ledger_file(self) -> Path:
        return self.workdir.resolve() / "ledger.sqlite3"


def service_kind(service: str) -> str:
    """The `quoteflow serve` command a process of the stack runs (both colors: inference)."""
    return "inference" if service.startswith("inference") else service


def settings_prefix(service: str) -> str:
    """Where that process reads its settings: QUOTEFLOW_<KIND>_..."""
    return f"QUOTEFLOW_{service_kind(service).upper()}_"


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM (the service drains in-flight requests), SIGKILL after `timeout`."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        config.workdir.mkdir(parents=True, exist_ok=True)

    @property
    def product(self) -> str:
        """The product the Blue version belongs to (its metadata names it)."""
        from quoteflow import products
        from quoteflow.registry import Registry

        c = self.config
        meta = Registry(c.registry_dir).get(c.model_name, c.blue_version).metadata
        return products.of_metadata(meta).name

    # --- lifecycle ----------------------------------------------------------------

    def write_policy(self) -> None:
        """This model's section of the policy file (other models' sections stay)."""
        from quoteflow.traffic.document import write_policy_file
        from quoteflow.traffic.policy import parse_policy

        c = self.config
        doc: dict[str, object] = {"blue": {"version": c.blue_version},
                                  "green_weight": c.green_weight,
                                  "shadow": {"enabled": c.shadow, "sample": c.shadow_sample}}
        if c.green_version is not None:
            doc["green"] = {"version": c.green_version}
        write_policy_file(c.policy_file, parse_policy(doc, "stack"), c.model_name)

    def has_policy(self) -> bool:
        from quoteflow.traffic.document import load_document
        from quoteflow.traffic.policy import PolicyError

        try:
            return self.config.model_name in load_document(self.config.policy_file).sections
        except PolicyError:
            return False

    def command(self, service: str) -> tuple[list[str], dict[str, str]]:
        c = self.config
        kind = service_kind(service)
        env = {k: v for k, v in os.environ.items() if not k.startswith("QUOTEFLOW_")}
        prefix = settings_prefix(service)
        env[prefix + "HOST"] = "127.0.0.1"
        env[prefix + "PORT"] = str(c.port(service))
        env["QUOTEFLOW_LOG_LEVEL"] = c.log_level
        if kind == "inference":
            color = service.split("-", 1)[1]
            env[prefix + "REGISTRY_DIR"] = str(c.registry_dir)
            env[prefix + "MODEL_NAME"] = c.model_name
            version = c.blue_version if color == "blue" else c.green_version
            env[prefix + "MODEL_VERSION"] = str(version)
        if kind == "router":
            env[prefix + "PRODUCT"] = self.product
            env[prefix + "MODEL_NAME"] = c.model_name  # its section of the policy
            env[prefix + "PREPROCESS_URL"] = c.url("preprocess")
            env[prefix + "BLUE_URL"] = c.url("inference-blue")
            if c.green_version is not None:
                env[prefix + "GREEN_URL"] = c.url("inference-green")
            env[prefix + "POLICY_FILE"] = str(c.policy_file)
            env[prefix + "LEDGER__URL"] = c.ledger_url or f"sqlite:///{c.ledger_file}"
            if c.admin_token:
                env[prefix + "ADMIN_TOKEN"] = c.admin_token
        env.update(c.env.get(service, {}))
        return [sys.executable, "-m", "quoteflow.cli", "serve", kind], env

    def prometheus_targets(self) -> list[tuple[str, str | None, str, str]]:
        """(job, color, address, model) of every process, for a Prometheus scrape config."""
        out: list[tuple[str, str | None, str, str]] = []
        for s in self.services():
            job, _, color = s.partition("-")
            out.append((job, color or None, f"127.0.0.1:{self.config.port(s)}",
                        self.config.model_name))
        return out

    def services(self) -> list[str]:
        return [s for s in SERVICES
                if s != "inference-green" or self.config.green_version is not None]

    def start_service(self, service: str) -> None:
        cmd, env = self.command(service)
        log = (self.config.workdir / f"{service}.log").open("ab")
        self.procs[service] = subprocess.Popen(cmd, env=env, stdout=log, stderr=log,
                                               stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 60.0) -> None:
        if not self.has_policy():
            self.write_policy()
        try:
            for s in self.services():
                if s != "router":
                    self.start_service(s)
            for s in self.services():
                if s != "router":
                    self.wait_ready(s, timeout)
            self.start_service("router")
            self.wait_ready("router", timeout)
        except BaseException:
            self.stop()
            raise

    def ready(self, service: str) -> bool:
        try:
            with urllib.request.urlopen(self.config.url(service) + "/readyz", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, service: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self.procs.get(service)
            if proc is not None and proc.poll() is not None:
                raise StackError(f"{service} exited with {proc.returncode}:\n"
                                 f"{self.log_tail(service)}")
            if self.ready(service):
                return
            time.sleep(0.05)
        raise StackError(f"{service} not ready after {timeout:.0f}s:\n{self.log_tail(service)}")

    def log_tail(self, service: str, lines: int = 20) -> str:
        path = self.config.workdir / f"{service}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def signal(self, service: str, sig: int) -> None:
        proc = self.procs[service]
        if proc.poll() is None:
            proc.send_signal(sig)

    def stop_service(self, service: str, timeout: float = 15.0) -> int | None:
        proc = self.procs.get(service)
        if proc is None:
            return None
        if proc.poll() is None:
            terminate(proc, timeout)
        return proc.returncode

    def ready_pid(self, service: str) -> int | None:
        """The pid of the process that answered /readyz with 200 on the service's port."""
        try:
            with urllib.request.urlopen(self.config.url(service) + "/readyz", timeout=1) as r:
                return int(json.loads(r.read())["pid"]) if r.status == 200 else None
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            return None

    def restart_service(self, service: str, timeout: float = 60.0) -> float:
        """Replace a service's process the way a Deployment with maxUnavailable 0 does:
        the new process binds the same port (SO_REUSEPORT) and must be ready before the
        old one gets SIGTERM and drains. While both listen, the kernel spreads new
        connections over them; /readyz is polled on fresh connections until the new pid
        answers it with 200. Returns the time.monotonic() of the old process's SIGTERM."""
        old = self.procs[service]
        self.start_service(service)
        new = self.procs[service]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if new.poll() is not None:
                self.procs[service] = old
                raise StackError(f"{service} replacement exited with {new.returncode}:\n"
                                 f"{self.log_tail(service)}")
            if self.ready_pid(service) == new.pid:
                break
            time.sleep(0.05)
        else:
            new.kill()
            self.procs[service] = old
            raise StackError(f"{service} replacement not ready after {timeout:.0f}s")
        sigterm_at = time.monotonic()
        terminate(old, timeout)
        return sigterm_at

    def stop(self) -> None:
        # router first: it drains in-flight quotes while its upstreams still answer
        for s in reversed(self.services()):
            with contextlib.suppress(Exception):
                self.stop_service(s)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
