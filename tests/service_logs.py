"""No traceback and no ERROR record in a service's log goes unnoticed.

Every stack the end-to-end tests and drills start writes one JSON log per process
(`<service>.log` in its workdir, under pytest's temporary folder). After each test,
and again after each module (a stack's shutdown logs too), the new lines of every
such log are read; a record at level error or critical, a record carrying an
exception, or a bare Python traceback fails the test, unless the test (or its module)
declares that it provokes it:

    @pytest.mark.expect_log_errors(r"inference-green: .*checksum")

Each pattern is a regular expression searched in "<service>: <message> <exception>".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# preprocess.log, inference-blue.log, router.log, router-1.log (a second replica), desk.log
LOG_NAME = re.compile(r"^(preprocess|inference-[a-z]+|router|desk)(-\d+)?\.log$")
MARKER = "expect_log_errors"


@dataclass(frozen=True)
class Problem:
    path: Path
    lineno: int
    service: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.text[:2000]}"


def _classify(line: str) -> str | None:
    """The problem a log line reports, or None when it is a normal record."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line if line.startswith("Traceback (most recent call last)") else None
    if not isinstance(entry, dict):
        return None
    level = str(entry.get("level", "")).lower()
    if level in ("error", "critical") or "exception" in entry:
        return f"{entry.get('message', '')} {entry.get('exception', '')}".strip()
    return None


class LogScanner:
    """Reads only what was appended to each service log since the last scan."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.offsets: dict[Path, int] = {}
        self.lines: dict[Path, int] = {}

    def logs(self) -> Iterator[Path]:
        for path in sorted(self.root.rglob("*.log")):
            if LOG_NAME.match(path.name):
                yield path

    def new_problems(self) -> list[Problem]:
        found: list[Problem] = []
        for path in self.logs():
            with path.open("rb") as f:
                f.seek(self.offsets.get(path, 0))
                chunk = f.read()
            complete = chunk[:chunk.rfind(b"\n") + 1]  # a half-written line waits
            self.offsets[path] = self.offsets.get(path, 0) + len(complete)
            service = LOG_NAME.match(path.name).group(1)  # type: ignore[union-attr]
            lines = complete.decode(errors="replace").splitlines()
            first = self.lines.get(path, 0)
            self.lines[path] = first + len(lines)
            for i, text in enumerate(_problem_texts(lines)):
                if text is not None:
                    found.append(Problem(path, first + i + 1, service, text))
        return found


def _problem_texts(lines: list[str]) -> Iterator[str | None]:
    """One entry per line; a bare traceback takes the non-JSON lines after it along."""
    for i, line in enumerate(lines):
        text = _classify(line)
        if text is not None and not line.startswith("{"):
            tail = []
            for nxt in lines[i + 1:]:
                if nxt.startswith("{"):
                    break
                tail.append(nxt)
            text = "\n".join([text, *tail])
        yield text


def expected_patterns(markers: Iterable[pytest.Mark]) -> list[re.Pattern[str]]:
    return [re.compile(p) for m in markers for p in m.args]


def unexpected(problems: list[Problem], patterns: list[re.Pattern[str]]) -> list[Problem]:
    return [p for p in problems
            if not any(rx.search(f"{p.service}: {p.text}") for rx in patterns)]


def fail_on(problems: list[Problem], when: str) -> None:
    if problems:
        listing = "\n".join(str(p) for p in problems[:20])
        pytest.fail(f"{len(problems)} error record(s) or traceback(s) in service logs "
                    f"{when} (declare expected ones with @pytest.mark.{MARKER}):\n{listing}",
                    pytrace=False)


# --- fixtures and hook, imported by tests/e2e/conftest.py and tests/drills/conftest.py ---

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(*patterns): error records or tracebacks this test provokes "
                   "in service logs (regular expressions on '<service>: <message>')")


_SCANNERS: dict[Path, LogScanner] = {}


@pytest.fixture(scope="session")
def service_log_scanner(tmp_path_factory: pytest.TempPathFactory) -> LogScanner:
    # one scanner per session, shared by the e2e and drills conftests (each defines this
    # fixture): a line is judged once, by the test during which it was written
    root = tmp_path_factory.getbasetemp()
    return _SCANNERS.setdefault(root, LogScanner(root))


@pytest.fixture(scope="module", autouse=True)
def service_logs_clean_module(request: pytest.FixtureRequest,
                              service_log_scanner: LogScanner) -> Iterator[None]:
    """After the module's stacks stopped: what they logged while shutting down."""
    yield
    items = [i for i in request.session.items if i.getparent(pytest.Module) is request.node]
    patterns = expected_patterns(m for i in items for m in i.iter_markers(MARKER))
    fail_on(unexpected(service_log_scanner.new_problems(), patterns),
            f"after {request.node.name}")


@pytest.fixture(autouse=True)
def service_logs_clean(request: pytest.FixtureRequest,
                       service_log_scanner: LogScanner) -> Iterator[None]:
    yield
    patterns = expected_patterns(request.node.iter_markers(MARKER))
    fail_on(unexpected(service_log_scanner.new_problems(), patterns),
            f"during {request.node.name}")
