"""The quote path's logic: preprocess once, price on the assigned color, fail over once.

No HTTP framework here: ``QuoteService.quote`` takes the request body and answers
(status, JSON-able body, headers); app.py only translates.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson

from quoteflow import metrics
from quoteflow.router.assignment import assign
from quoteflow.router.policy import Color, Policy, PolicyStore
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer, ShadowJob
from quoteflow.router.upstream import UpstreamError, Upstreams

log = logging.getLogger(__name__)
RETRY_AFTER = {"Retry-After": "1"}


def _other(color: Color) -> Color:
    return "green" if color == "blue" else "blue"


def _serves_live(policy: Policy, color: Color) -> bool:
    """A color may absorb failover only if the policy gives it live traffic: after the
    kill switch (Green at 0) Green takes nothing, not even Blue's failures."""
    if policy.version_of(color) is None:
        return False
    return policy.green_weight > 0 if color == "green" else policy.green_weight < 100


class QuoteService:
    def __init__(self, settings: Settings, store: PolicyStore, upstreams: Upstreams,
                 shadow: ShadowComparer) -> None:
        self.settings = settings
        self.store = store
        self.upstreams = upstreams
        self.shadow = shadow

    async def quote(self, body: bytes) -> tuple[int, Any, dict[str, str] | None]:
        start = time.perf_counter()
        status, payload, headers, color, outcome = await self._quote(body)
        metrics.QUOTE_DURATION.labels(color, outcome).observe(time.perf_counter() - start)
        metrics.QUOTES.labels(color, str(status)).inc()
        return status, payload, headers

    async def _quote(self, body: bytes) -> tuple[int, Any, dict[str, str] | None, str, str]:
        s = self.settings
        t0 = time.perf_counter()
        # the whole quote answers inside the budget, a few ms kept for our own work
        deadline = t0 + s.budget_seconds - 0.01
        try:
            status, raw = await self.upstreams.post(
                self.upstreams.preprocess_url + "/v1/features", body, s.preprocess_timeout)
        except UpstreamError as e:
            log.warning("preprocess failed", extra={"reason": e.reason, "error": str(e)})
            return (503, {"detail": "quote service temporarily unavailable (feature service "
                                    f"{e.reason}); retry shortly"}, RETRY_AFTER, "none", "error")
        finally:
            metrics.UPSTREAM_DURATION.labels("preprocess", "none").observe(
                time.perf_counter() - t0)
        if status != 200:
            if 400 <= status < 500:  # the customer's input: pass the field errors through
                return status, orjson.Fragment(raw), None, "none", "rejected"
            return (503, {"detail": f"feature service answered {status}; retry shortly"},
                    RETRY_AFTER, "none", "error")
        feats = orjson.loads(raw)
        quote_id = uuid.uuid4().hex
        policy = self.store.policy
        color = assigned = assign(feats.get("customer_key") or quote_id, policy)
        outcome = "ok"
        other = _other(color)
        can_fail_over = _serves_live(policy, other) and self.upstreams.usable(other)
        # A color known to be down is skipped without waiting for it to fail.
        if not self.upstreams.usable(color) and can_fail_over:
            metrics.FAILOVERS.labels(color, "not_ready").inc()
            color, other, outcome, can_fail_over = other, color, "failover", False
        try:
            result = await self._price(color, feats, s.inference_timeout)
        except UpstreamError as e:
            # One more attempt, with what is left of the budget: on the other color if
            # it serves live traffic, else on the same one unless it is gone.
            left = deadline - time.perf_counter()
            if can_fail_over:
                metrics.FAILOVERS.labels(color, e.reason).inc()
                color, outcome = other, "failover"
            elif e.reason == "connection" or left <= 0.005:
                return (503, {"detail": f"pricing temporarily unavailable ({e.reason}); "
                                        "retry shortly"}, RETRY_AFTER, color, "error")
            try:
                result = await self._price(color, feats, max(left, 0.005))
            except UpstreamError as e2:
                return (503, {"detail": f"pricing temporarily unavailable ({e2.reason}); "
                                        "retry shortly"}, RETRY_AFTER, color, "error")
        pred = result["predictions"][0]
        model = result["model"]
        answer = {
            "quote_id": quote_id,
            "premium": pred["premium"],
            "currency": result.get("currency", s.currency_fallback),
            "breakdown": pred["breakdown"],
            "model": {"name": model["name"], "version": model["version"], "color": color},
        }
        if policy.shadow.enabled and outcome == "ok":
            self.shadow.offer(ShadowJob(feats["features"], feats["schema_version"], color,
                                        float(pred["premium"])), policy.shadow.sample)
        # Like Envoy's x-envoy-attempt-count: say that another color answered.
        headers = {"x-quoteflow-failover-from": assigned} if outcome == "failover" else None
        return 200, answer, headers, color, outcome

    async def _price(self, color: Color, feats: dict[str, Any],
                     timeout: float) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            result = await self.upstreams.predict(color, feats["features"],
                                                  feats["schema_version"], timeout)
            self.upstreams.record_success(color)
            return result
        except UpstreamError as e:
            self.upstreams.record_failure(color, e.reason, str(e))
            raise
        finally:
            metrics.UPSTREAM_DURATION.labels("inference", color).observe(
                time.perf_counter() - t0)
