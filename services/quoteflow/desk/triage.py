"""The desk's client of the router's ``POST /v1/claims/triage``, with typed outcomes.

Triaged: the router answered a decision. Pending: triage is down, slow or failing (the
claim stays saved and is retried). Refused: the router found the claim invalid (422),
which the desk's own validation (forms.py) should have caught first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from quoteflow.products.claims.contract import TriageResponse

log = logging.getLogger(__name__)
PATH = "/v1/claims/triage"


@dataclass(frozen=True)
class Triaged:
    answer: dict[str, Any]  # a TriageResponse, as JSON


@dataclass(frozen=True)
class Pending:
    why: str


@dataclass(frozen=True)
class Refused:
    errors: list[dict[str, Any]]


Outcome = Triaged | Pending | Refused


class TriageClient:
    def __init__(self, router_url: str, timeout: float) -> None:
        self.url = router_url.rstrip("/") + PATH
        self._http = httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def triage(self, request: dict[str, Any]) -> Outcome:
        try:
            r = await self._http.post(self.url, json=request)
        except httpx.TimeoutException:
            return self._pending(request, f"triage did not answer within "
                                          f"{self._http.timeout.read} s")
        except httpx.TransportError as e:
            return self._pending(request, f"triage unreachable ({type(e).__name__})")
        if r.status_code == 200:
            try:
                # the router's answer may leave the reference out: it is the request's
                body = {"claim_reference": request.get("claim_reference"), **r.json()}
                return Triaged(TriageResponse.model_validate(body).model_dump(mode="json"))
            except (ValueError, ValidationError) as e:
                return self._pending(request, f"triage answered an unexpected body: {e}")
        if r.status_code == 422:
            return Refused(r.json().get("detail", []))
        return self._pending(request, f"triage answered HTTP {r.status_code}")

    @staticmethod
    def _pending(request: dict[str, Any], why: str) -> Pending:
        log.warning("claim kept as pending: %s", why,
                    extra={"claim_reference": request.get("claim_reference")})
        return Pending(why)
