"""GET /v1/quotes/{quote_id} and POST /v1/quotes/{quote_id}/bind: the ledger over HTTP.

Mounted only when the router records its product's answers (a priced product with the
ledger on). The logic is in ledgering.py; here outcomes become status codes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from quoteflow.http import json_response
from quoteflow.ledger.outcomes import BindOutcome, Bound, Expired, LedgerUnavailable
from quoteflow.router.ledgering import QuoteLedger, recorded_quote, timestamp

RETRY_AFTER = {"Retry-After": "1"}
RECORD_DOC = {"description": "the recorded quote: request, features, model, color and why, "
                             "premium, status (quoted, bound, expired)"}


def bind_answer(outcome: BindOutcome, ledger: QuoteLedger) -> tuple[int, dict[str, Any]]:
    """200 bound (again: the same bound_at), 409 expired naming valid-until, 404 unknown."""
    if isinstance(outcome, Bound):
        return 200, {**recorded_quote(outcome.record, ledger.clock()),
                     "already_bound": outcome.already}
    if isinstance(outcome, Expired):
        return 409, {"detail": outcome.detail(), "valid_until": timestamp(outcome.valid_until)}
    return 404, {"detail": outcome.detail()}


def quotes_router(ledger: QuoteLedger) -> APIRouter:
    router = APIRouter(tags=["quotes"])

    @router.get("/v1/quotes/{quote_id}", summary="A recorded quote and its status",
                responses={200: RECORD_DOC, 404: {"description": "no such quote"},
                           503: {"description": "ledger unavailable; honour Retry-After"}})
    async def get_quote(quote_id: str) -> Response:
        try:
            rec = await ledger.get(quote_id)
        except LedgerUnavailable as e:
            return json_response({"detail": str(e)}, 503, RETRY_AFTER)
        if rec is None:
            return json_response({"detail": f"no quote {quote_id} in the ledger"}, 404)
        return json_response(recorded_quote(rec, ledger.clock()))

    @router.post("/v1/quotes/{quote_id}/bind", summary="Bind a quote: the customer takes it",
                 responses={200: RECORD_DOC, 404: {"description": "no such quote"},
                            409: {"description": "expired: names its valid-until"},
                            503: {"description": "ledger unavailable; honour Retry-After"}})
    async def bind(quote_id: str) -> Response:
        try:
            outcome = await ledger.bind(quote_id)
        except LedgerUnavailable as e:
            return json_response({"detail": str(e)}, 503, RETRY_AFTER)
        status, body = bind_answer(outcome, ledger)
        return json_response(body, status)

    return router
