"""The desk's store on both backends: the same calls, the same answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from quoteflow.desk.db import DatabaseConflict, dollar, make_database
from quoteflow.desk.store import DeskStore, DocumentRow

ANSWER = {"decision": "fraud", "probabilities": {"valid": 0.1, "fraud": 0.8, "review": 0.1},
          "reasons": ["Round amount"], "model": {"name": "claims", "version": "1",
                                                 "color": "blue"}}


async def roundtrip(url: str) -> None:
    db = make_database(url)
    await db.open()
    store = DeskStore(db)
    try:
        await store.add_user("alice", "agent", "h")
        with pytest.raises(DatabaseConflict):
            await store.add_user("alice", "agent", "h")
        doc = DocumentRow("ab" * 32, "a.pdf", "application/pdf", 10)
        await store.file("CLM-2026-000001", "alice", {"line": "home"}, [doc])
        with pytest.raises(DatabaseConflict):
            await store.file("CLM-2026-000001", "alice", {"line": "home"}, [])
        assert [c["reference"] for c in await store.by_status(("pending",))] == [
            "CLM-2026-000001"]
        assert await store.set_triaged("CLM-2026-000001", "fraud_review", ANSWER, "triage")
        assert not await store.set_triaged("CLM-2026-000001", "fraud_review", ANSWER, "x")
        assert not await store.decide("CLM-2026-000001", "rita", "approve", "approved", "ok",
                                      ("needs_documents",))
        assert await store.decide("CLM-2026-000001", "rita", "approve", "approved", "ok",
                                  ("fraud_review",))
        claim = await store.claim("CLM-2026-000001")
        assert claim is not None and claim["status"] == "approved"
        assert claim["probabilities"]["fraud"] == 0.8 and claim["created_at"].tzinfo
        assert [e["action"] for e in await store.history("CLM-2026-000001")] == [
            "filed", "triaged", "approve"]
        assert [d["filename"] for d in await store.documents("CLM-2026-000001")] == ["a.pdf"]
        [row] = await store.decisions(("approve",))
        assert (row["actor"], row["request"], row["decision"]) == ("rita", {"line": "home"},
                                                                   "fraud")
        [t] = await store.triage_events(("approve",))
        assert t["detail"]["model"] == ANSWER["model"] and t["id"] < row["event_id"]
        [joined] = await store.reviewed(("approve", "reject"))
        assert (joined["model"], joined["probabilities"]) == (ANSWER["model"],
                                                              ANSWER["probabilities"])
        assert await store.reviewed(("reject",)) == []
    finally:
        await db.close()
    db = make_database(url)  # reopening applies no migration twice
    await db.open()
    await db.close()


def test_sqlite(tmp_path: Path) -> None:
    asyncio.run(roundtrip(f"sqlite:///{tmp_path}/desk.sqlite3"))


def test_postgresql(pg_database: str) -> None:
    asyncio.run(roundtrip(pg_database))


def test_placeholders() -> None:
    assert dollar("a = ? AND b IN (?, ?)") == "a = $1 AND b IN ($2, $3)"
