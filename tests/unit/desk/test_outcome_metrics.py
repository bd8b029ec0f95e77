"""The outcomes as the desk exports them: /metrics and `quoteflow claims outcomes`, from a
real SQLite store holding triaged and reviewed claims."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from quoteflow.desk.db import make_database
from quoteflow.desk.outcomes_cli import claims
from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.store import DeskStore
from quoteflow.desk.web.app import create_app
from tests.unit.desk.test_outcomes import answer


async def reviewed_claims(url: str) -> None:
    """v1 blue: a fraud answer rejected, a fraud answer approved; v2 green: a review
    answer the reviewer agreed with."""
    db = make_database(url)
    await db.open()
    store = DeskStore(db)
    try:
        for ref, ans, action, status in (
                ("CLM-2026-000001", answer("fraud", "1", "blue"), "reject", "rejected"),
                ("CLM-2026-000002", answer("fraud", "1", "blue"), "approve", "approved"),
                ("CLM-2026-000003", answer("review", "2", "green"), "request_documents",
                 "needs_documents")):
            await store.file(ref, "alice", {"line": "home"}, [])
            queue = "fraud_review" if ans["decision"] == "fraud" else "needs_documents"
            assert await store.set_triaged(ref, queue, {**ans, "reasons": []}, "triage")
            assert await store.decide(ref, "rita", action, status, "seen", (queue,))
    finally:
        await db.close()


def test_metrics_and_the_command_report_the_same_outcomes(settings: DeskSettings) -> None:
    asyncio.run(reviewed_claims(settings.database_url))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        r = c.get("/metrics")
    assert r.status_code == 200
    got = {(s.name, s.labels["model_version"], s.labels["color"]): s.value
           for f in text_string_to_metric_families(r.text) for s in f.samples}
    assert got[("quoteflow_claims_reviewed_claims", "1", "blue")] == 2
    assert got[("quoteflow_claims_reviewed_agreed_claims", "1", "blue")] == 1
    assert got[("quoteflow_claims_reviewed_fraud_precision_ratio", "1", "blue")] == 0.5
    assert got[("quoteflow_claims_reviewed_fraud_recall_ratio", "1", "blue")] == 1.0
    # rejected fraud: manual review 120; a valid claim held: 120 + 250
    assert got[("quoteflow_claims_reviewed_decision_cost", "1", "blue")] == 490
    assert got[("quoteflow_claims_reviewed_agreement_ratio", "2", "green")] == 1.0
    assert {k[1:] for k in got} == {("1", "blue"), ("2", "green")}

    out = CliRunner().invoke(claims, ["outcomes", "--database", settings.database_url,
                                      "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)
    assert body["currency"] == "EUR"
    assert [(o["model_version"], o["color"], o["reviewed"], o["fraud_precision"], o["cost"])
            for o in body["outcomes"]] == [("2", "green", 1, None, 0.0),
                                           ("1", "blue", 2, 0.5, 490.0)]
    text = CliRunner().invoke(claims, ["outcomes", "--database", settings.database_url])
    assert text.exit_code == 0 and text.output.splitlines()[2].split() == [
        "1", "blue", "2", "50.0%", "50.0%", "100.0%", "245.00"]


def test_the_command_refuses_a_database_that_is_not_there(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "desk.sqlite3"
    out = CliRunner().invoke(claims, ["outcomes", "--database", f"sqlite:///{missing}"])
    assert out.exit_code == 1 and f"no desk database at {missing}" in out.output
    assert not missing.parent.exists()
