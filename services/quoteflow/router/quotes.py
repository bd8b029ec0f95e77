"""The public path's logic: preprocess once, run on the assigned color, fail over once,
and, for a priced product, record the quote durably before it is answered.

No HTTP framework here: ``QuoteService.serve`` takes the request body and returns a
typed outcome (Served, Rejected, Unavailable); app.py alone maps it to a status code
and headers. Product-agnostic: the product names the sticky field and the answer id.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from quoteflow import metrics
from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import Reason
from quoteflow.products.base import Product
from quoteflow.router.failover import first_choice, second_attempt
from quoteflow.router.ledgering import Pricing, QuoteLedger, RequestKey, public_answer
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer, ShadowJob
from quoteflow.router.upstream import UpstreamError, Upstreams
from quoteflow.traffic.policy import Color, PolicyStore, assign, bucket_of

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


class QuoteService:
    def __init__(self, settings: Settings, product: Product, store: PolicyStore,
                 upstreams: Upstreams, shadow: ShadowComparer,
                 ledger: QuoteLedger | None = None) -> None:
        self.settings = settings
        self.product = product
        self.store = store
        self.upstreams = upstreams
        self.shadow = shadow
        self.ledger = ledger
        self.features_url = f"{upstreams.preprocess_url}/v1/features/{product.name}"

    async def serve(self, body: bytes) -> Outcome:
        start = time.perf_counter()
        outcome = await self._serve(body)
        if isinstance(outcome, Served):
            how = "requote" if outcome.requote else "failover" if outcome.failover_from else "ok"
            label = (outcome.color, how, "200")
        elif isinstance(outcome, Rejected):
            label = ("none", "rejected", str(outcome.status))
        else:
            label = (outcome.color, "error", "503")
        took = time.perf_counter() - start
        metrics.child(metrics.QUOTE_DURATION, label[0], label[1]).observe(took)
        metrics.child(metrics.QUOTES, label[0], label[2]).inc()
        return outcome

    async def _features(self, body: bytes) -> dict[str, Any] | Rejected | Unavailable:
        t0 = time.perf_counter()
        try:
            status, raw = await self.upstreams.post(self.features_url, body,
                                                    self.settings.preprocess_timeout)
        except UpstreamError as e:
            log.warning("preprocess failed", extra={"reason": e.reason, "error": str(e)})
            return Unavailable(f"service temporarily unavailable (feature service "
                               f"{e.reason}); retry shortly")
        finally:
            metrics.child(metrics.UPSTREAM_DURATION, "preprocess", "none").observe(
                time.perf_counter() - t0)
        if status == 200:
            return orjson.loads(raw)  # type: ignore[no-any-return]
        if 400 <= status < 500:  # the caller's input: pass the field errors through
            return Rejected(status, raw)
        return Unavailable(f"feature service answered {status}; retry shortly")

    async def _serve(self, body: bytes) -> Outcome:
        s = self.settings
        # the whole call answers inside the budget, a few ms kept for our own work
        deadline = time.perf_counter() + s.budget_seconds - 0.01
        feats = await self._features(body)
        if not isinstance(feats, dict):
            return feats
        key = None
        if self.ledger is not None:
            key = self.ledger.key(body, feats)
            try:
                honoured = await self.ledger.requote(key)
            except LedgerUnavailable as e:
                return _ledger_down(e)
            if honoured is not None:  # the price this customer was given stands
                return Served(public_answer(honoured, self._id_field), honoured.color,  # type: ignore[arg-type]
                              requote=True)
        answer_id = uuid.uuid4().hex if self.product.answer_id_field else None
        policy = self.store.policy
        sticky = feats.get("sticky_key") or answer_id or uuid.uuid4().hex
        assigned = assign(sticky, policy)
        plan = first_choice(policy, assigned, self.upstreams.usable)
        if plan.skipped:
            metrics.FAILOVERS.labels(assigned, "not_ready").inc()
        color = plan.color
        try:
            result = await self._run(color, feats, s.inference_timeout)
        except UpstreamError as e:
            retry = second_attempt(plan, e.reason, deadline - time.perf_counter())
            if retry is None:
                return _unavailable(color, e.reason)
            if retry.color != color:
                metrics.FAILOVERS.labels(color, e.reason).inc()
            color = retry.color
            try:
                result = await self._run(color, feats, retry.timeout)
            except UpstreamError as e2:
                return _unavailable(color, e2.reason)
        prediction = result["predictions"][0]
        model = result["model"]
        answer: dict[str, Any] = {self.product.answer_id_field: answer_id} if answer_id else {}
        answer.update({k: feats[k] for k in self.product.echoed_fields})
        answer.update(prediction)
        answer["model"] = {"name": model["name"], "version": model["version"], "color": color}
        failed_over = color != assigned
        if self.ledger is not None and key is not None and answer_id is not None:
            reason = Reason(bucket=bucket_of(sticky), policy_generation=self.store.generation,
                            failover_from=assigned if failed_over else None)
            recorded = await self._record(key, Pricing(
                answer_id, feats["features"], feats["schema_version"], model, color, reason),
                prediction, result, deadline)
            if isinstance(recorded, Unavailable):
                return recorded
            if recorded is not None:
                answer = recorded
        if policy.shadow.enabled and not failed_over:
            self.shadow.offer(ShadowJob(feats["features"], feats["schema_version"], color,
                                        prediction), policy.shadow.sample)
        return Served(answer, color, assigned if failed_over else None)

    @property
    def _id_field(self) -> str:
        return self.product.answer_id_field or "quote_id"

    async def _record(self, key: RequestKey, pricing: Pricing, prediction: dict[str, Any],
                      result: dict[str, Any], deadline: float
                      ) -> dict[str, Any] | Unavailable | None:
        """The answer built from the committed record; Unavailable if it could not be
        committed in time (no unrecorded price leaves); None: nothing to record."""
        assert self.ledger is not None
        rec = self.ledger.record_of(key, pricing, prediction, result)
        if rec is None:
            return None
        # inside what is left of the budget: a late commit is a 503, never a late 200
        timeout = max(deadline - time.perf_counter(), 0.005)
        try:
            await self.ledger.commit(rec, timeout)
        except LedgerUnavailable as e:
            return _ledger_down(e, pricing.color)
        return public_answer(rec, self._id_field)

    async def _run(self, color: Color, feats: dict[str, Any], timeout: float) -> dict[str, Any]:
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
            metrics.child(metrics.UPSTREAM_DURATION, "inference", color).observe(
                time.perf_counter() - t0)


def _ledger_down(e: LedgerUnavailable, color: str = "none") -> Unavailable:
    log.warning("quote not answered: ledger unavailable", extra={"error": str(e)})
    return Unavailable("service temporarily unavailable (the quote could not be recorded); "
                       "retry shortly", color)


def _unavailable(color: Color, reason: str) -> Unavailable:
    return Unavailable(f"service temporarily unavailable ({reason}); retry shortly", color)
