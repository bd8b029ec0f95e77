"""The ledger's Prometheus metrics (same conventions as quoteflow/metrics.py).

``store`` is the backend (sqlite, postgresql); model and color are bounded by the
registry and the policy, never a quote or customer id.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# A commit is an fsync: sub-millisecond on a good disk, tens of ms on a slow one; the
# 0.2 s boundary is the quote budget, past which the quote is answered 503.
COMMIT_BUCKETS = (0.00025, 0.0005, 0.001, 0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02,
                  0.03, 0.05, 0.1, 0.2, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)

COMMIT_DURATION = Histogram(
    "quoteflow_ledger_commit_duration_seconds",
    "Time of one ledger transaction committing a batch of quotes, durably",
    ["store"], buckets=COMMIT_BUCKETS)
BATCH_SIZE = Histogram(
    "quoteflow_ledger_commit_batch_size", "Quotes committed together by one group commit",
    ["store"], buckets=BATCH_BUCKETS)
ERRORS = Counter(
    "quoteflow_ledger_errors_total",
    "Ledger operations that failed, by reason (commit, timeout, read, conflict)",
    ["store", "reason"])
BINDS = Counter(
    "quoteflow_ledger_binds_total", "Quotes bound (first bind only), by model and color",
    ["model", "color"])
