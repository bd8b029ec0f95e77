"""The desk's records: users, sessions, claims, their documents and their history.

Every write that belongs together is one transaction: a claim, its documents and its
'filed' event; a decision and its event. Queries only; what a status means is claims.py's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from quoteflow.desk.db import Database, Statement

QUEUE_STATUSES = ("fraud_review", "needs_documents")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _json(v: Any) -> str | None:
    return None if v is None else orjson.dumps(v).decode()


def _load(v: Any) -> Any:
    return orjson.loads(v) if isinstance(v, str | bytes) else v


@dataclass(frozen=True)
class DocumentRow:
    sha256: str
    filename: str
    content_type: str
    size: int


def event(claim: str, actor: str, action: str, reason: str | None = None,
          detail: dict[str, Any] | None = None, at: dt.datetime | None = None) -> Statement:
    return ("INSERT INTO desk_events (claim, at, actor, action, reason, detail) "
            "VALUES (?, ?, ?, ?, ?, ?)", (claim, at or now(), actor, action, reason,
                                          _json(detail)))


class DeskStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # --- users and sessions -----------------------------------------------------------
    async def add_user(self, username: str, role: str, password_hash: str) -> None:
        await self.db.execute("INSERT INTO desk_users VALUES (?, ?, ?, ?)",
                              username, role, password_hash, now())

    async def user(self, username: str) -> dict[str, Any] | None:
        rows = await self.db.fetch("SELECT * FROM desk_users WHERE username = ?", username)
        return rows[0] if rows else None

    async def has_users(self) -> bool:
        return bool(await self.db.fetch("SELECT 1 FROM desk_users LIMIT 1"))

    async def open_session(self, digest: str, username: str, csrf: str,
                           expires: dt.datetime) -> None:
        await self.db.execute("INSERT INTO desk_sessions VALUES (?, ?, ?, ?, ?)",
                              digest, username, csrf, now(), expires)

    async def session(self, digest: str) -> dict[str, Any] | None:
        rows = await self.db.fetch(
            "SELECT s.username, s.csrf, u.role FROM desk_sessions s JOIN desk_users u "
            "ON u.username = s.username WHERE s.token_sha256 = ? AND s.expires_at > ?",
            digest, now())
        return rows[0] if rows else None

    async def close_session(self, digest: str) -> None:
        await self.db.execute("DELETE FROM desk_sessions WHERE token_sha256 = ?", digest)

    # --- claims -----------------------------------------------------------------------
    async def file(self, reference: str, agent: str, request: dict[str, Any],
                   documents: list[DocumentRow]) -> None:
        t = now()
        await self.db.transaction([
            ("INSERT INTO desk_claims (reference, agent, status, created_at, updated_at, "
             "request) VALUES (?, ?, 'pending', ?, ?, ?)",
             (reference, agent, t, t, _json(request))),
            *self._documents(reference, agent, documents, t),
            event(reference, agent, "filed", None, {"documents": len(documents)}, t),
        ])

    @staticmethod
    def _documents(reference: str, by: str, documents: list[DocumentRow],
                   t: dt.datetime) -> list[Statement]:
        return [("INSERT INTO desk_documents (claim, sha256, filename, content_type, size, "
                 "uploaded_at, uploaded_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (reference, d.sha256, d.filename, d.content_type, d.size, t, by))
                for d in documents]

    async def add_documents(self, reference: str, by: str, documents: list[DocumentRow],
                            request: dict[str, Any]) -> None:
        """New documents, the request with its new document count, and back to pending."""
        t = now()
        await self.db.transaction([
            *self._documents(reference, by, documents, t),
            ("UPDATE desk_claims SET request = ?, status = 'pending', updated_at = ? "
             "WHERE reference = ?", (_json(request), t, reference)),
            event(reference, by, "documents_added", None,
                  {"files": [d.filename for d in documents]}, t),
        ])

    async def claim(self, reference: str) -> dict[str, Any] | None:
        rows = await self.db.fetch("SELECT * FROM desk_claims WHERE reference = ?", reference)
        return _claim(rows[0]) if rows else None

    async def claims_of(self, agent: str) -> list[dict[str, Any]]:
        rows = await self.db.fetch("SELECT * FROM desk_claims WHERE agent = ? "
                                   "ORDER BY created_at DESC", agent)
        return [_claim(r) for r in rows]

    async def by_status(self, statuses: tuple[str, ...], limit: int = 200
                        ) -> list[dict[str, Any]]:
        """Oldest first: the queue, and the pending claims the retry loop triages."""
        marks = ", ".join("?" * len(statuses))
        rows = await self.db.fetch(f"SELECT * FROM desk_claims WHERE status IN ({marks}) "
                                   "ORDER BY created_at LIMIT ?", *statuses, limit)
        return [_claim(r) for r in rows]

    async def documents(self, reference: str) -> list[dict[str, Any]]:
        return await self.db.fetch("SELECT * FROM desk_documents WHERE claim = ? ORDER BY id",
                                   reference)

    async def history(self, reference: str) -> list[dict[str, Any]]:
        rows = await self.db.fetch("SELECT * FROM desk_events WHERE claim = ? ORDER BY id",
                                   reference)
        return [{**r, "detail": _load(r["detail"])} for r in rows]

    async def set_triaged(self, reference: str, status: str, answer: dict[str, Any],
                          actor: str) -> bool:
        """Record triage's answer if the claim is still pending (one writer wins)."""
        t = now()
        return await self.db.transaction([
            ("UPDATE desk_claims SET status = ?, decision = ?, probabilities = ?, "
             "reasons = ?, model = ?, triaged_at = ?, updated_at = ?, triage_error = NULL, "
             "triage_attempts = triage_attempts + 1 WHERE reference = ? AND "
             "status = 'pending'",
             (status, answer["decision"], _json(answer["probabilities"]),
              _json(answer["reasons"]), _json(answer["model"]), t, t, reference)),
            # the answer in the event too: a reviewer decision is judged against the
            # answer it reviewed, not a later one (outcomes.join)
            event(reference, actor, "triaged", None,
                  {"decision": answer["decision"], "status": status,
                   "probabilities": answer["probabilities"], "model": answer["model"]}, t),
        ], guarded=True)

    async def set_pending(self, reference: str, why: str) -> None:
        await self.db.execute(
            "UPDATE desk_claims SET triage_error = ?, triage_attempts = triage_attempts + 1 "
            "WHERE reference = ? AND status = 'pending'", why, reference)

    async def decide(self, reference: str, reviewer: str, action: str, status: str,
                     reason: str, from_statuses: tuple[str, ...]) -> bool:
        """The reviewer's decision and its event, if the claim is still in the queue."""
        t = now()
        marks = ", ".join("?" * len(from_statuses))
        return await self.db.transaction([
            (f"UPDATE desk_claims SET status = ?, updated_at = ? WHERE reference = ? AND "
             f"status IN ({marks})", (status, t, reference, *from_statuses)),
            event(reference, reviewer, action, reason, {"status": status}, t),
        ], guarded=True)

    async def decisions(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        """Reviewer decisions with their claims, oldest first (the labelled export)."""
        marks = ", ".join("?" * len(actions))
        rows = await self.db.fetch(
            "SELECT e.id AS event_id, e.at, e.actor, e.action, e.reason, c.reference, "
            "c.created_at AS filed_at, c.request, c.decision, "
            "c.probabilities, c.model FROM desk_events e JOIN desk_claims c "
            f"ON c.reference = e.claim WHERE e.action IN ({marks}) ORDER BY e.id", *actions)
        return [{**r, **{k: _load(r[k]) for k in ("request", "probabilities", "model")}}
                for r in rows]

    async def triage_events(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        """The 'triaged' events of claims a reviewer decided on (outcomes.join)."""
        marks = ", ".join("?" * len(actions))
        rows = await self.db.fetch(
            "SELECT id, claim, at, detail FROM desk_events WHERE action = 'triaged' AND "
            f"claim IN (SELECT claim FROM desk_events WHERE action IN ({marks})) ORDER BY id",
            *actions)
        return [{**r, "detail": _load(r["detail"])} for r in rows]

    async def reviewed(self, actions: tuple[str, ...]) -> list[dict[str, Any]]:
        """Reviewer decisions, each with the triage answer it reviewed, oldest first."""
        from quoteflow.desk.outcomes import join

        return join(await self.decisions(actions), await self.triage_events(actions))


def _claim(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, **{k: _load(row[k]) for k in ("request", "probabilities", "reasons",
                                                  "model")}}
