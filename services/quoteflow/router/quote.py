"""One quote call's state, filled in step by step, and the typed outcomes it ends in.

No HTTP here: app.py's ``to_response`` maps an Outcome to a status code and headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import Renewal
from quoteflow.router.failover import Plan
from quoteflow.router.ledgering import RequestKey
from quoteflow.traffic.policy import Color, Policy, Split
from quoteflow.traffic.tariffs import TariffChoice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    body: dict[str, Any]
    color: Color
    failover_from: Color | None = None
    requote: bool = False  # answered from the ledger: the quote this customer already has


@dataclass(frozen=True)
class Rejected:
    """The caller's input was refused: preprocess's status and field errors, as they are."""

    status: int
    errors: bytes


@dataclass(frozen=True)
class Unavailable:
    detail: str
    color: str = "none"  # the color that failed, for the metrics; none before pricing


Outcome = Served | Rejected | Unavailable


@dataclass
class Quote:
    """One call's state, filled in step by step (each field names the step that sets it)."""

    body: bytes
    deadline: float  # perf_counter() by which the answer must be out
    feats: dict[str, Any] = field(default_factory=dict)  # features: preprocess's answer
    key: RequestKey | None = None  # honour_requote: the ledger's key (None: no ledger)
    answer_id: str | None = None  # choose_color: the new quote's id (None: not priced)
    sticky: str = ""  # choose_color: what the blue/green assignment hashes
    policy: Policy | None = None  # choose_tariff: the policy this call runs under
    generation: int = 0  # choose_tariff: that policy's generation
    tariff: TariffChoice | None = None  # choose_tariff: the tariff at the cover start
    renewal: Renewal | None = None  # find_renewed: the bound quote this one renews
    assigned: Color = "blue"  # choose_color: the sticky assignment
    plan: Plan | None = None  # choose_color: who is asked first, who may take over
    color: Color = "blue"  # choose_color, price: the color whose answer is served
    result: dict[str, Any] = field(default_factory=dict)  # price: inference's answer
    answer: dict[str, Any] = field(default_factory=dict)  # build_answer, record

    def left(self) -> float:
        """Seconds of budget left."""
        return self.deadline - time.perf_counter()

    @property
    def prediction(self) -> dict[str, Any]:
        first: dict[str, Any] = self.result["predictions"][0]  # inference's answer, one row
        return first

    @property
    def split(self) -> Split:
        """The blue/green split this call runs under: its tariff's."""
        assert self.policy is not None
        return self.tariff.split if self.tariff is not None else self.policy

    @property
    def failover_from(self) -> Color | None:
        return self.assigned if self.color != self.assigned else None

Step = Callable[[Quote], Awaitable[Outcome | None]]
"""A step of the quote path: None to go on, or the Outcome that answers the call."""


def ledger_down(e: LedgerUnavailable, color: str = "none") -> Unavailable:
    log.warning("quote not answered: ledger unavailable", extra={"error": str(e)})
    return Unavailable("service temporarily unavailable (the quote could not be recorded); "
                       "retry shortly", color)


def unavailable(color: Color, reason: str) -> Unavailable:
    return Unavailable(f"service temporarily unavailable ({reason}); retry shortly", color)
