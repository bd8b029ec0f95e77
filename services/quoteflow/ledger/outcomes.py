"""What the ledger answers: typed outcomes for business cases, one exception for outages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from quoteflow.ledger.record import QuoteRecord


class LedgerUnavailable(Exception):
    """The store could not commit (or read) in time: the caller must not answer a price.

    The router maps it to 503 with Retry-After."""


class LedgerConflict(ValueError):
    """A record with this quote id is already in the ledger (a caller bug, not an outage)."""


@dataclass(frozen=True)
class Bound:
    record: QuoteRecord
    # False when this call bound it, True when it was bound before (same bound_at)
    already: bool

    @property
    def bound_at(self) -> dt.datetime:
        assert self.record.bound_at is not None
        return self.record.bound_at


@dataclass(frozen=True)
class Expired:
    """Binding refused: the quote's validity ended (HTTP 409 naming valid_until)."""

    record: QuoteRecord

    @property
    def valid_until(self) -> dt.datetime:
        return self.record.valid_until

    def detail(self) -> str:
        return (f"quote {self.record.quote_id} expired: it was valid until "
                f"{self.valid_until.isoformat()}")


@dataclass(frozen=True)
class NotFound:
    quote_id: str

    def detail(self) -> str:
        return f"no quote {self.quote_id} in the ledger"


BindOutcome = Bound | Expired | NotFound


@dataclass(frozen=True)
class StatRow:
    """One group of `stats`: the business read of a rollout (conversion by color)."""

    group: dict[str, str]
    currency: str
    quotes: int
    binds: int
    # mean of the exact premiums, as a float: a statistic, not an amount to charge
    mean_premium: float

    @property
    def conversion(self) -> float:
        return self.binds / self.quotes if self.quotes else 0.0


@dataclass
class WriterStats:
    """Group-commit counters of one store object (also exported as metrics)."""

    commits: int = 0
    records: int = 0
    failed_commits: int = 0

    @property
    def mean_batch(self) -> float:
        return self.records / self.commits if self.commits else 0.0

