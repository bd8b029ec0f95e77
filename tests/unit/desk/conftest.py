"""The desk in process: a real SQLite (or PostgreSQL) store and folder under tmp_path;
triage points at a closed port, so filing takes the real 'triage unreachable' path."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quoteflow.desk.cli import add_user
from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.web.app import create_app
from tests.pgserver import free_port, pg_database, pg_server  # noqa: F401  (fixtures)

PASSWORD = "correct horse battery"
FORM = {"claimant_age": "41", "line": "home", "policy_start_date": "2024-01-10",
        "incident_date": "2025-03-02", "report_date": "2025-03-04",
        "claimed_amount": "2300", "sum_insured": "250000", "prior_claims_3y": "0",
        "witnesses": "1", "incident_description": "A pipe burst in the kitchen."}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def settings(tmp_path: Path) -> DeskSettings:
    url = f"sqlite:///{tmp_path}/desk.sqlite3"
    for name, role in (("alice", "agent"), ("bob", "agent"), ("rita", "reviewer")):
        asyncio.run(add_user(url, name, role, PASSWORD))
    return DeskSettings(router_url=f"http://127.0.0.1:{free_port()}", database_url=url,
                        documents_dir=tmp_path / "docs", triage_timeout=0.5,
                        retry_interval=3600, max_file_bytes=1024 * 1024, max_files=3)


@pytest.fixture
def app_client(settings: DeskSettings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        yield c


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def login(c: TestClient, name: str) -> str:
    """Log in; the CSRF token of the session."""
    token = csrf_of(c.get("/login").text)
    r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token},
               follow_redirects=True)
    assert r.status_code == 200, r.text
    return csrf_of(r.text)
