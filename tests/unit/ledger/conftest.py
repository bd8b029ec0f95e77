"""Every store test runs against both backends: SQLite in a temp folder and a real
PostgreSQL started for the session (tests/pgserver.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pgserver import pg_database, pg_server  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.sqlite3"
    return str(request.getfixturevalue("pg_database"))
