"""The desk's tables, numbered migrations per dialect (ledger/schema.py's rules: a
released migration is never edited). Recorded in ``desk_schema_migrations`` so the desk
and the ledger can share one PostgreSQL database."""

from __future__ import annotations

from quoteflow.ledger.schema import Migration

TABLE = "desk_schema_migrations"
LOCK = 0x71F10D  # pg_advisory_xact_lock key, apart from the ledger's


def _tables(text: str, ts: str, serial: str, js: str) -> tuple[str, ...]:
    return (
        f"""CREATE TABLE desk_users (
    username {text} PRIMARY KEY, role {text} NOT NULL, password_hash {text} NOT NULL,
    created_at {ts} NOT NULL)""",
        f"""CREATE TABLE desk_sessions (
    token_sha256 {text} PRIMARY KEY,
    username {text} NOT NULL REFERENCES desk_users (username) ON DELETE CASCADE,
    csrf {text} NOT NULL, created_at {ts} NOT NULL, expires_at {ts} NOT NULL)""",
        f"""CREATE TABLE desk_claims (
    reference {text} PRIMARY KEY, agent {text} NOT NULL, status {text} NOT NULL,
    created_at {ts} NOT NULL, updated_at {ts} NOT NULL, request {js} NOT NULL,
    decision {text}, probabilities {js}, reasons {js}, model {js}, triaged_at {ts},
    triage_attempts integer NOT NULL DEFAULT 0, triage_error {text})""",
        "CREATE INDEX desk_claims_agent ON desk_claims (agent, created_at)",
        "CREATE INDEX desk_claims_status ON desk_claims (status, created_at)",
        f"""CREATE TABLE desk_documents (
    id {serial}, claim {text} NOT NULL REFERENCES desk_claims (reference),
    sha256 {text} NOT NULL, filename {text} NOT NULL, content_type {text} NOT NULL,
    size bigint NOT NULL, uploaded_at {ts} NOT NULL, uploaded_by {text} NOT NULL)""",
        "CREATE INDEX desk_documents_claim ON desk_documents (claim)",
        f"""CREATE TABLE desk_events (
    id {serial}, claim {text} NOT NULL REFERENCES desk_claims (reference),
    at {ts} NOT NULL, actor {text} NOT NULL, action {text} NOT NULL, reason {text},
    detail {js})""",
        "CREATE INDEX desk_events_claim ON desk_events (claim, id)",
    )


SQLITE: list[Migration] = [
    (1, "desk users, sessions, claims, documents, events",
     _tables("TEXT", "TEXT", "INTEGER PRIMARY KEY AUTOINCREMENT", "TEXT")),
]
POSTGRESQL: list[Migration] = [
    (1, "desk users, sessions, claims, documents, events",
     _tables("text", "timestamptz", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
             "jsonb")),
]
