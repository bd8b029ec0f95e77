"""The supervisor of `quoteflow up`, on real child processes and a hand-driven clock."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quoteflow.local.supervisor import Backoff, Supervisor, describe_exit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class ProcStack:
    """Stack's supervision surface (procs, start_service, ready, log_tail) over real
    processes that run `code`; `ready` is whatever the test says."""

    def __init__(self, tmp: Path, code: dict[str, str]) -> None:
        self.tmp, self.code = tmp, code
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.is_ready = {s: True for s in code}
        self.starts = {s: 0 for s in code}
        for s in code:
            self.start_service(s)

    def start_service(self, service: str) -> None:
        self.starts[service] += 1
        self.procs[service] = subprocess.Popen([sys.executable, "-c", self.code[service]])

    def ready(self, service: str) -> bool:
        return self.is_ready[service]

    def log_tail(self, service: str, lines: int = 20) -> str:
        return f"(last lines of {service})"

    def stop(self) -> None:
        for p in self.procs.values():
            p.kill()
            p.wait()


def wait_exit(proc: subprocess.Popen[bytes]) -> None:
    proc.wait(10)


def test_backoff_doubles_and_caps() -> None:
    b = Backoff(initial=0.5, factor=2, cap=30)
    assert [b.delay(n) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]


def test_exit_descriptions_name_the_signal() -> None:
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(3) == "exit code 3"


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[ProcStack]:
    st = ProcStack(tmp_path, {"blue": "import time; time.sleep(60)",
                              "green": "import time; time.sleep(60)"})
    yield st
    st.stop()


def test_a_killed_process_is_restarted_after_backoff_and_the_others_left_alone(
        stack: ProcStack) -> None:
    clock, said = Clock(), []
    sup = Supervisor(stack, said.append, Backoff(initial=0.5), clock)  # type: ignore[arg-type]
    blue = stack.procs["blue"]
    stack.procs["green"].kill()
    wait_exit(stack.procs["green"])
    sup.poll()
    assert said and "green exited (killed by SIGKILL)" in said[0] and "in 0.5 s" in said[0]
    assert stack.starts["green"] == 1  # not before the back-off
    clock.now += 0.5
    stack.is_ready["green"] = False
    sup.poll()
    assert stack.starts["green"] == 2 and "green restarted" in said[-1]
    sup.poll()
    assert not any("ready again" in m for m in said)  # not ready yet: nothing claimed
    stack.is_ready["green"] = True
    clock.now += 0.7
    sup.poll()
    assert "green is ready again, 1.2 s after it exited" in said[-1]
    assert stack.procs["blue"] is blue and blue.poll() is None and stack.starts["blue"] == 1


def test_quick_exits_back_off_longer_and_a_stable_run_resets(stack: ProcStack) -> None:
    clock, said = Clock(), []
    sup = Supervisor(stack, said.append, Backoff(initial=0.5, reset_after=60),
                     clock)  # type: ignore[arg-type]
    stack.code["green"] = "raise SystemExit(3)"  # every restart fails at once
    stack.procs["green"].kill()
    for expected in (0.5, 1.0, 2.0):
        wait_exit(stack.procs["green"])
        clock.now += 0.1
        sup.poll()
        assert f"restarting it in {expected:.1f} s" in said[-1], said
        clock.now += expected
        sup.poll()
        assert "restarted" in said[-1]
    assert "exit code 3" in said[-4]
    wait_exit(stack.procs["green"])
    clock.now += 61  # this one stayed up over a minute: back to the first delay
    sup.poll()
    assert "restarting it in 0.5 s" in said[-1]
    assert stack.starts == {"blue": 1, "green": 4}
