"""The log check that every e2e test and drill runs (tests/service_logs.py), on files
shaped like the stack's: what it flags, what it lets through, what it reads twice."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.service_logs import LogScanner, unexpected


def record(level: str, message: str, **extra: str) -> str:
    return json.dumps({"level": level, "service": "router", "message": message, **extra})


def test_flags_errors_exceptions_and_bare_tracebacks_once(tmp_path: Path) -> None:
    run = tmp_path / "stack"
    run.mkdir()
    (run / "router.log").write_text("\n".join([
        record("info", "traffic policy applied"),
        record("error", "traffic policy refused; the running policy stays"),
        record("warning", "health poll slow", exception="Traceback ...\nTimeoutError"),
        "Traceback (most recent call last):",
        '  File "app.py", line 66, in <lambda>',
        "AttributeError: 'Upstreams' object has no attribute 'session'",
        record("info", "after"),
    ]) + "\n" + record("error", "half-written line, no newline yet"))
    (run / "prometheus.log").write_text("level=error msg=not ours\n")
    scanner = LogScanner(tmp_path)
    found = scanner.new_problems()
    assert [p.lineno for p in found] == [2, 3, 4]
    assert "AttributeError" in found[2].text and found[2].service == "router"
    assert scanner.new_problems() == []  # read once
    with (run / "router.log").open("a") as f:
        f.write("\n")  # the half line is complete now
    assert [p.lineno for p in scanner.new_problems()] == [8]


def test_declared_patterns_let_expected_records_through(tmp_path: Path) -> None:
    (tmp_path / "inference-green.log").write_text(
        record("error", "model not loaded: sha256 mismatch") + "\n"
        + record("error", "something else") + "\n")
    found = LogScanner(tmp_path).new_problems()
    left = unexpected(found, [re.compile(r"^inference-green: model not loaded")])
    assert [p.text for p in left] == ["something else"]
