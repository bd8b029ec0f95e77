"""The ledger's tables, as numbered migrations per dialect, applied at start.

A migration is never edited once released: a change is a new number. Both dialects
keep the same columns; only the types differ (SQLite keeps times as fixed-width UTC
text, which sorts like time, and the premium as decimal text, which stays exact).
"""

from __future__ import annotations

# (number, name, statements): one released schema change
Migration = tuple[int, str, tuple[str, ...]]

COLUMNS = (
    "quote_id", "product", "quoted_at", "valid_until", "request_json", "request_sha256",
    "customer_key", "request_key", "features", "features_schema", "model_name",
    "model_version", "model_sha256", "color", "reason", "premium", "currency", "breakdown",
    "router_instance", "bound_at", "trace_id",
)
SELECT_COLUMNS = ", ".join(COLUMNS)
# columns `stats` may group by (a whitelist: they are put into SQL text)
GROUPABLE = ("product", "model_name", "model_version", "color")

_INDEXES = (
    "CREATE INDEX quotes_requote ON quotes (customer_key, request_key, quoted_at)",
    "CREATE INDEX quotes_quoted_at ON quotes (quoted_at)",
)

SQLITE: list[Migration] = [
    (1, "quotes table", ("""
CREATE TABLE quotes (
    quote_id TEXT PRIMARY KEY,
    product TEXT NOT NULL,
    quoted_at TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    request_json TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    customer_key TEXT,
    request_key TEXT NOT NULL,
    features TEXT NOT NULL,
    features_schema TEXT NOT NULL,
    model_name TEXT NOT NULL,
    model_version TEXT NOT NULL,
    model_sha256 TEXT NOT NULL,
    color TEXT NOT NULL,
    reason TEXT NOT NULL,
    premium TEXT NOT NULL,
    currency TEXT NOT NULL,
    breakdown TEXT NOT NULL,
    router_instance TEXT NOT NULL,
    bound_at TEXT
)""", *_INDEXES)),
    (2, "quotes.trace_id", ("ALTER TABLE quotes ADD COLUMN trace_id TEXT",)),
]

POSTGRESQL: list[Migration] = [
    (1, "quotes table", ("""
CREATE TABLE quotes (
    quote_id text PRIMARY KEY,
    product text NOT NULL,
    quoted_at timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    request_json text NOT NULL,
    request_sha256 text NOT NULL,
    customer_key text,
    request_key text NOT NULL,
    features double precision[] NOT NULL,
    features_schema text NOT NULL,
    model_name text NOT NULL,
    model_version text NOT NULL,
    model_sha256 text NOT NULL,
    color text NOT NULL,
    reason jsonb NOT NULL,
    premium numeric NOT NULL,
    currency text NOT NULL,
    breakdown jsonb NOT NULL,
    router_instance text NOT NULL,
    bound_at timestamptz
)""", *_INDEXES)),
    (2, "quotes.trace_id", ("ALTER TABLE quotes ADD COLUMN trace_id text",)),
]


def pending(migrations: list[Migration], applied: set[int], where: str) -> list[Migration]:
    """The migrations still to apply; refuses a store written by a newer quoteflow."""
    known = max(v for v, _, _ in migrations)
    newer = sorted(v for v in applied if v > known)
    if newer:
        raise RuntimeError(f"{where} has schema version {newer[-1]}, newer than this "
                           f"quoteflow knows ({known}): upgrade quoteflow")
    return [m for m in migrations if m[0] not in applied]
