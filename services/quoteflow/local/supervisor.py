"""`quoteflow up` keeps the stack serving the way a kubelet keeps a pod's containers:
a process that exits is started again after a back-off that doubles on each quick
exit (0.5 s, 1 s, 2 s ... capped at 30 s; kubelet's CrashLoopBackOff, scaled to a
laptop) and goes back to 0.5 s once the process has stayed up for a minute. The
other processes keep serving meanwhile: the router fails over to the color that is
up. Every exit, restart and return to ready is printed, with the log's last lines.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Supervised(Protocol):
    """What the supervisor asks of what it keeps up: a Stack, or the desk's runner."""

    procs: dict[str, subprocess.Popen[bytes]]

    def start_service(self, service: str) -> None: ...

    def ready(self, service: str) -> bool: ...

    def log_tail(self, service: str, lines: int = 20) -> str: ...


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0  # seconds up after which the next exit counts as the first

    def delay(self, quick_exits: int) -> float:
        """Wait before the restart that follows `quick_exits` earlier quick exits."""
        return float(min(self.cap, self.initial * self.factor ** quick_exits))


@dataclass
class _Watch:
    started_at: float
    quick_exits: int = 0
    restarts: int = 0
    restart_at: float | None = None  # an exited process waits for its back-off
    exited_at: float | None = None
    awaiting_ready: bool = False


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


class Supervisor:
    """Call poll() a few times a second; it never blocks for long (one /readyz call)."""

    def __init__(self, stack: Supervised, echo: Callable[[str], None],
                 backoff: Backoff | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stack = stack
        self.echo = echo
        self.backoff = backoff or Backoff()
        self.clock = clock
        now = clock()
        self.watches = {s: _Watch(started_at=now) for s in stack.procs}

    def poll(self) -> None:
        for service, w in self.watches.items():
            now = self.clock()
            if w.restart_at is not None:
                if now >= w.restart_at:
                    self._restart(service, w, now)
                continue
            proc = self.stack.procs[service]
            if proc.poll() is not None:
                self._exited(service, w, describe_exit(proc.returncode), now)
            elif w.awaiting_ready and self.stack.ready(service):
                w.awaiting_ready = False
                self.echo(f"{service} is ready again, {now - (w.exited_at or now):.1f} s "
                          "after it exited")

    def _exited(self, service: str, w: _Watch, why: str, now: float) -> None:
        if now - w.started_at >= self.backoff.reset_after:
            w.quick_exits = 0
        delay = self.backoff.delay(w.quick_exits)
        w.quick_exits += 1
        w.exited_at, w.restart_at, w.awaiting_ready = now, now + delay, False
        self.echo(f"{service} exited ({why}); the others keep "
                  f"serving; restarting it in {delay:.1f} s. Last log lines:\n"
                  f"{self.stack.log_tail(service, 5)}")

    def _restart(self, service: str, w: _Watch, now: float) -> None:
        w.restart_at = None
        w.started_at = now
        w.restarts += 1
        try:
            self.stack.start_service(service)
        except OSError as e:  # e.g. the log folder vanished: try again after back-off
            self._exited(service, w, f"could not be started: {e}", now)
            return
        w.awaiting_ready = True
        self.echo(f"{service} restarted (pid {self.stack.procs[service].pid}, "
                  f"restart {w.restarts})")
