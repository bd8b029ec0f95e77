"""Drill figures in the test summary: `pytest -q` hides a passing test's output."""

from __future__ import annotations

import pytest

from tests.drills.load import DRILL_LINES


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if DRILL_LINES:
        terminalreporter.section("drill figures")
        for line in DRILL_LINES:
            terminalreporter.write_line(line)
