"""What the desk does with a claim: file it (saved before triage is asked), triage it,
add documents, record reviewers' decisions. No HTTP here: the web layer calls these.

Statuses: pending (saved, triage not answered yet), approved (triage: valid, or a
reviewer), fraud_review and needs_documents (the reviewers' queue; an agent adds
documents to the latter), rejected (a reviewer), invalid (the router refused the claim).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from quoteflow.desk import documents, forms
from quoteflow.desk.db import DatabaseConflict
from quoteflow.desk.store import QUEUE_STATUSES, DeskStore, DocumentRow
from quoteflow.desk.triage import Outcome, Pending, Refused, TriageClient, Triaged
from quoteflow.products.claims.features import (
    CLASSES,
    REPORT_REQUIRED_ABOVE,
    REQUIRED_DOCUMENTS,
)

log = logging.getLogger(__name__)
STATUS_OF_DECISION = {"valid": "approved", "fraud": "fraud_review", "review": "needs_documents"}
# reviewer action -> (new status, the label it gives the claim for retraining)
ACTIONS = {"approve": ("approved", "valid"), "reject": ("rejected", "fraud"),
           "request_documents": ("needs_documents", "review")}
LABEL_OF = {action: label for action, (_, label) in ACTIONS.items()}
Upload = tuple[str, bytes]  # (file name as sent, content)


@dataclass
class Filing:
    reference: str | None = None
    errors: dict[str, str] = field(default_factory=dict)  # field (or "documents") -> message
    outcome: Outcome | None = None


class Desk:
    def __init__(self, store: DeskStore, folder: documents.DocumentFolder,
                 client: TriageClient, max_files: int, max_file_bytes: int) -> None:
        self.store = store
        self.folder = folder
        self.client = client
        self.max_files = max_files
        self.max_file_bytes = max_file_bytes

    def check_uploads(self, uploads: list[Upload]) -> tuple[list[documents.CheckedDocument],
                                                             str | None]:
        """Every document checked before any is stored: one bad file refuses the lot."""
        if len(uploads) > self.max_files:
            return [], (f"{len(uploads)} documents: at most {self.max_files} can be "
                        "uploaded at once")
        checked, problems = [], []
        for name, data in uploads:
            try:
                checked.append(documents.check(name, data, self.max_file_bytes))
            except documents.DocumentRefused as e:
                problems.append(str(e))
        return checked, ("; ".join(problems) + ". Nothing was stored.") if problems else None

    def _store_documents(self, checked: list[documents.CheckedDocument]) -> list[DocumentRow]:
        return [DocumentRow(self.folder.put(d), d.filename, d.content_type, len(d.data))
                for d in checked]

    async def file(self, agent: str, form: dict[str, str], uploads: list[Upload],
                   today: dt.date) -> Filing:
        checked, doc_error = self.check_uploads(uploads)
        reference = f"CLM-{today.year}-{secrets.randbelow(10**10):010d}"
        request, errors = forms.parse(form, reference, len(checked), today)
        if doc_error:
            errors["documents"] = doc_error
        if errors or request is None:
            return Filing(errors=errors)
        rows = self._store_documents(checked)  # durable before the claim names them
        for _ in range(3):
            try:
                await self.store.file(reference, agent, request, rows)
                break
            except DatabaseConflict:  # a reference drawn twice: draw again
                reference = f"CLM-{today.year}-{secrets.randbelow(10**10):010d}"
                request["claim_reference"] = reference
        else:
            raise RuntimeError("could not draw a free claim reference")
        return Filing(reference, outcome=await self.triage(reference))

    async def triage(self, reference: str) -> Outcome:
        """Ask triage for a pending claim and record what it says."""
        claim = await self.store.claim(reference)
        if claim is None or claim["status"] != "pending":
            raise ValueError(f"claim {reference} is not pending")
        outcome = await self.client.triage(claim["request"])
        if isinstance(outcome, Triaged):
            status = STATUS_OF_DECISION[outcome.answer["decision"]]
            await self.store.set_triaged(reference, status, outcome.answer, "triage")
        elif isinstance(outcome, Pending):
            await self.store.set_pending(reference, outcome.why)
        elif isinstance(outcome, Refused):
            log.warning("triage refused claim %s: %s", reference, outcome.errors)
            await self.store.decide(reference, "triage", "refused", "invalid",
                                    "; ".join(str(e.get("msg")) for e in outcome.errors),
                                    ("pending",))
        return outcome

    async def retry_pending(self, limit: int = 50) -> int:
        """Triage the oldest pending claims; how many got a decision. Stops at the first
        one still pending: triage is down, the rest would wait for the same timeout."""
        done = 0
        for claim in await self.store.by_status(("pending",), limit):
            outcome = await self.triage(claim["reference"])
            if isinstance(outcome, Pending):
                break
            done += 1
        return done

    async def add_documents(self, reference: str, by: str, uploads: list[Upload]
                            ) -> tuple[str | None, Outcome | None]:
        """(error, None) or (None, the new triage outcome)."""
        claim = await self.store.claim(reference)
        if claim is None or claim["status"] != "needs_documents":
            return "documents can be added only while the claim needs documents", None
        if not uploads:
            return "choose at least one document", None
        checked, error = self.check_uploads(uploads)
        if error:
            return error, None
        rows = self._store_documents(checked)
        request = dict(claim["request"])
        request["documents_attached"] = int(request["documents_attached"]) + len(rows)
        await self.store.add_documents(reference, by, rows, request)
        return None, await self.triage(reference)

    async def decide(self, reference: str, reviewer: str, action: str, reason: str) -> str | None:
        """None when recorded, else what is wrong."""
        if action not in ACTIONS:
            return f"unknown decision {action!r}: approve, reject or request_documents"
        if not reason.strip():
            return "give a reason for the decision"
        status, _ = ACTIONS[action]
        ok = await self.store.decide(reference, reviewer, action, status, reason.strip(),
                                     QUEUE_STATUSES)
        return None if ok else "the claim is no longer in the queue"


def missing(request: dict[str, Any]) -> list[str]:
    """What an incomplete claim lacks, in words for the agent."""
    line, out = request["line"], []
    need = REQUIRED_DOCUMENTS.get(line, 0) - int(request.get("documents_attached", 0))
    if need > 0:
        out.append(f"{need} more document(s): a {line} claim needs "
                   f"{REQUIRED_DOCUMENTS[line]} (claim form, photos, estimate or invoice)")
    if (float(request["claimed_amount"]) > REPORT_REQUIRED_ABOVE.get(line, 0.0)
            and not request.get("police_or_medical_report")):
        kind = "medical" if line == "health" else "police"
        out.append(f"a {kind} report (required for this amount on a {line} claim)")
    return out


def facts(claim: dict[str, Any]) -> list[Any]:
    """The claim's facts as a reviewer reads them, triage's reasons beside them
    (products/claims/presentation.py)."""
    from quoteflow.products.claims.decision import ClaimsConfig
    from quoteflow.products.claims.presentation import facts as shown

    return shown(claim["request"], claim.get("reasons"), ClaimsConfig.load().currency)


def labelled(decision: dict[str, Any]) -> dict[str, Any]:
    """One reviewer decision as a labelled row for retraining the triage model."""
    return {"claim_reference": decision["reference"], "request": decision["request"],
            "label": ACTIONS[decision["action"]][1], "reviewer": decision["actor"],
            "decided_at": decision["at"].isoformat(),
            "filed_at": decision["filed_at"].isoformat(), "action": decision["action"],
            "reason": decision["reason"], "triage_decision": decision["decision"],
            "triage_probabilities": decision["probabilities"], "triage_model": decision["model"]}


@dataclass(frozen=True)
class CostTable:
    """The product's cost matrix, which the reviewer outcomes price decisions with."""

    classes: tuple[str, ...]
    cost: list[list[float]]  # [true class][decision]
    currency: str


def cost_table() -> CostTable:
    from quoteflow.products.claims.decision import ClaimsConfig

    cfg = ClaimsConfig.load()
    return CostTable(CLASSES, cfg.cost_matrix().tolist(), cfg.currency)


async def outcomes(store: DeskStore) -> tuple[list[Any], CostTable]:
    """Triage against its reviewers per model version and color (outcomes.py)."""
    from quoteflow.desk.outcomes import summarise

    table = cost_table()
    rows = await store.reviewed(tuple(ACTIONS))
    return summarise(rows, LABEL_OF, table.classes, table.cost), table
