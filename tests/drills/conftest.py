"""Drill figures in the test summary: `pytest -q` hides a passing test's output. Every
drill fails on an unexpected error record in a service's log (tests/service_logs.py)."""

from __future__ import annotations

import pytest

from tests.drills.load import DRILL_LINES
from tests.service_logs import (  # noqa: F401  (fixtures and hook used by pytest)
    pytest_configure,
    service_log_scanner,
    service_logs_clean,
    service_logs_clean_module,
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if DRILL_LINES:
        terminalreporter.section("drill figures")
        for line in DRILL_LINES:
            terminalreporter.write_line(line)

from tests.pgserver import pg  # noqa: E402, F401  (a module-scoped PostgreSQL to stop and start)
