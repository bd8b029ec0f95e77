"""The quote ledger: every priced quote recorded durably before it is answered.

Product-agnostic store layer (no web framework here): the router records a quote with
``await store.record(rec)`` (it returns once the row is durably committed, group
commit batching concurrent callers), looks re-quotes up with ``find_requote``, binds
with ``bind``; the ``quoteflow quotes`` commands read, export and purge it.

Personal data held (GDPR): each row keeps the request as received, which for motor
includes the driver's birth date, postcode/area, vehicle and bonus-malus fields, and
the customer key (a pseudonymous id the website sends for sticky assignment and
re-quotes), besides the derived features and the premium. No name, address or
contact details are required by the contract, but whatever the request carries is
kept. Erasure: ``quoteflow quotes purge --customer-key K`` deletes every row with
that key (rows quoted without a key cannot be tied to a person by the ledger and go
with retention). Retention: ``quoteflow quotes purge --older-than DAYS`` deletes rows
quoted before then, bound or not (the policy system of record keeps contracts).
On SQLite a purge also overwrites the deleted bytes (secure_delete) and empties the
WAL; on PostgreSQL the rows' space is reclaimed by (auto)vacuum, and backups or WAL
archives keep them for their own retention period.
"""

from quoteflow.ledger.outcomes import (
    BindOutcome,
    Bound,
    Expired,
    LedgerConflict,
    LedgerUnavailable,
    NotFound,
    StatRow,
    WriterStats,
)
from quoteflow.ledger.record import QuoteRecord, Reason, canonical_json, request_key, sha256_hex
from quoteflow.ledger.settings import LedgerSettings, make_store
from quoteflow.ledger.store import LedgerStore

__all__ = [
    "BindOutcome", "Bound", "Expired", "LedgerConflict", "LedgerSettings", "LedgerStore",
    "LedgerUnavailable", "NotFound", "QuoteRecord", "Reason", "StatRow", "WriterStats",
    "canonical_json", "make_store", "request_key", "sha256_hex",
]
