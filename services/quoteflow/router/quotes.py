"""The public path's logic: preprocess once, run on the assigned color, fail over once,
and, for a priced product, record the quote durably before it is answered.

No HTTP framework here: ``QuoteService.serve`` takes the request body and returns a
typed outcome (Served, Rejected, Unavailable); app.py alone maps it to a status code
and headers. Product-agnostic: the product names the sticky field and the answer id.

The path is a list of named steps over one call's ``Quote`` (``QuoteService.steps``):

    features -> choose_tariff -> honour_requote -> find_renewed -> choose_color -> price
      -> hold_price -> build_answer -> record -> shadow

Each step fills in its part of the Quote and returns None to go on, or an Outcome that
is the answer (a re-quote, a refusal, an outage). A new step (a tariff chosen by its
effective date, a price guardrail) is one method and one place in that list.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any, cast

import orjson

from quoteflow import metrics, tracing
from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import Reason, time_ordered_id
from quoteflow.products.base import Product
from quoteflow.router import renewal_step, tariff_step
from quoteflow.router.failover import first_choice, second_attempt
from quoteflow.router.ledgering import Pricing, QuoteLedger, public_answer
from quoteflow.router.quote import (
    Outcome,
    Quote,
    Rejected,
    Served,
    Step,
    Unavailable,
    ledger_down,
    unavailable,
)
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer, ShadowJob
from quoteflow.router.upstream import UpstreamError, Upstreams
from quoteflow.traffic.policy import Color, PolicyStore, assign, bucket_of

log = logging.getLogger(__name__)
# kept of the budget for the router's own work (reading, answering)
OWN_WORK_SECONDS = 0.01


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
        # the ledger spans' attributes (database client semantic conventions), made once
        db = ledger.store.kind if ledger is not None else "none"
        self._db_spans = {step: {"db.system.name": db, "db.operation.name": op,
                                 "db.collection.name": "quotes", "quoteflow.ledger.step": step}
                          for step, op in (("requote", "SELECT"), ("commit", "INSERT"))}
        self.steps: list[Step] = [self.features, self.choose_tariff, self.honour_requote,
                                  self.find_renewed, self.choose_color, self.price,
                                  self.hold_price, self.build_answer, self.record,
                                  self.shadow_copy]

    async def serve(self, body: bytes) -> Outcome:
        start = time.perf_counter()
        outcome = await self._serve(body, start)
        label: tuple[str, str, str]
        if isinstance(outcome, Served):
            how = "requote" if outcome.requote else "failover" if outcome.failover_from else "ok"
            label = (outcome.color, how, "200")
        elif isinstance(outcome, Rejected):
            label = ("none", "rejected", str(outcome.status))
        else:
            label = (outcome.color, "error", "503")
        took = time.perf_counter() - start
        # a sampled trace's id as the exemplar: Grafana jumps from a slow bucket to it
        metrics.child(metrics.QUOTE_DURATION, label[0], label[1]).observe(
            took, tracing.exemplar())
        metrics.child(metrics.QUOTES, label[0], label[2]).inc()
        return outcome

    async def _serve(self, body: bytes, start: float) -> Outcome:
        # the whole call answers inside the budget, a few ms kept for our own work
        q = Quote(body, start + self.settings.budget_seconds - OWN_WORK_SECONDS)
        for step in self.steps:
            outcome = await step(q)
            if outcome is not None:
                return outcome
        return Served(q.answer, q.color, q.failover_from)

    # --- the steps, in order ------------------------------------------------------------

    async def features(self, q: Quote) -> Outcome | None:
        """Preprocess validates the request and derives its features."""
        t0 = time.perf_counter()
        try:
            status, raw = await self.upstreams.post(self.features_url, q.body,
                                                    self.settings.preprocess_timeout)
        except UpstreamError as e:
            log.warning("preprocess failed", extra={"reason": e.reason, "error": str(e)})
            return Unavailable(f"service temporarily unavailable (feature service "
                               f"{e.reason}); retry shortly")
        finally:
            metrics.child(metrics.UPSTREAM_DURATION, "preprocess", "none").observe(
                time.perf_counter() - t0, tracing.exemplar())
        if 400 <= status < 500:  # the caller's input: pass the field errors through
            return Rejected(status, raw)
        if status != 200:
            return Unavailable(f"feature service answered {status}; retry shortly")
        q.feats = orjson.loads(raw)
        return None

    async def choose_tariff(self, q: Quote) -> Outcome | None:
        """The running policy (one snapshot) and the tariff in effect at the cover start."""
        return tariff_step.choose(q, self.store.state, dt.datetime.now(dt.UTC))

    async def honour_requote(self, q: Quote) -> Outcome | None:
        """The same request from the same customer inside its validity: the price given
        stands, answered from the ledger without pricing again."""
        if self.ledger is None:
            return None
        q.key = self.ledger.key(q.body, tariff_step.key_context(q))
        try:
            with tracing.span("SELECT quotes", self._db_spans["requote"], "client"):
                honoured = await self.ledger.requote(q.key)
        except LedgerUnavailable as e:
            return ledger_down(e)
        if honoured is None:
            return None
        color = cast(Color, honoured.color)  # the ledger keeps the Color it recorded, as text
        return Served(public_answer(honoured, self._id_field), color, requote=True)

    async def find_renewed(self, q: Quote) -> Outcome | None:
        """A renewal names a bound quote of this customer's: its premium is the prior."""
        return await renewal_step.find_renewed(q, self.product, self.ledger)

    async def choose_color(self, q: Quote) -> Outcome | None:
        """The sticky assignment within the tariff, and who takes over if it fails."""
        q.answer_id = time_ordered_id() if self.product.answer_id_field else None
        q.sticky = q.feats.get("sticky_key") or q.answer_id or uuid.uuid4().hex
        q.assigned = assign(q.sticky, q.split)
        can_take = tariff_step.usable(q, self.upstreams.serves, self.upstreams.usable)
        q.plan = first_choice(q.split, q.assigned, can_take)
        if not can_take(q.plan.color) and (refused := tariff_step.unserved(q, q.plan.color)):
            return refused
        if q.plan.skipped:
            metrics.FAILOVERS.labels(q.assigned, "not_ready").inc()
        q.color = q.plan.color
        return None

    async def price(self, q: Quote) -> Outcome | None:
        """Inference on the chosen color; one more attempt, inside the budget, on failure."""
        assert q.plan is not None
        try:
            q.result = await self._run(q, self.settings.inference_timeout)
            return None
        except UpstreamError as e:
            retry = second_attempt(q.plan, e.reason, q.left())
            if retry is None:
                return unavailable(q.color, e.reason)
            if retry.color != q.color:
                metrics.FAILOVERS.labels(q.color, e.reason).inc()
            q.color = retry.color
        try:
            q.result = await self._run(q, retry.timeout)
        except UpstreamError as e2:
            return unavailable(q.color, e2.reason)
        return None

    async def hold_price(self, q: Quote) -> Outcome | None:
        """A renewal held to its prior by the artifact's rules; rule hits counted."""
        renewal_step.hold(q, self.product)
        return None

    async def build_answer(self, q: Quote) -> Outcome | None:
        """The public answer: id, echoed request fields, the prediction, the model."""
        model = q.result["model"]
        id_field = self.product.answer_id_field
        answer: dict[str, Any] = {id_field: q.answer_id} if id_field and q.answer_id else {}
        answer.update({k: q.feats[k] for k in self.product.echoed_fields})
        answer.update(q.prediction)
        answer["model"] = {"name": model["name"], "version": model["version"], "color": q.color}
        q.answer = answer
        if tracing.recording():
            tracing.annotate({"quoteflow.product": self.product.name,
                              "quoteflow.model.name": model["name"],
                              "quoteflow.model.version": str(model["version"]),
                              "quoteflow.color": q.color})
        return None

    async def record(self, q: Quote) -> Outcome | None:
        """A priced answer is committed to the ledger before it leaves, and then answered
        from its record; Unavailable if it could not be committed in time."""
        if self.ledger is None or q.key is None or q.answer_id is None:
            return None
        reason = Reason(bucket=bucket_of(q.sticky), policy_generation=q.generation,
                        failover_from=q.failover_from,
                        tariff=q.tariff.reason() if q.tariff is not None else None,
                        renewal=q.renewal)
        pricing = Pricing(q.answer_id, q.feats["features"], q.feats["schema_version"],
                          q.result["model"], q.color, reason)
        rec = self.ledger.record_of(q.key, pricing, q.prediction, q.result)
        if rec is None:  # the product's answers are not prices
            return None
        # inside what is left of the budget: a late commit is a 503, never a late 200
        try:
            with tracing.span("INSERT quotes", self._db_spans["commit"], "client"):
                await self.ledger.commit(rec, max(q.left(), 0.005))
        except LedgerUnavailable as e:
            return ledger_down(e, q.color)
        q.answer = public_answer(rec, self._id_field)
        return None

    async def shadow_copy(self, q: Quote) -> Outcome | None:
        """Offer the other color the same features, after the answer; never awaited."""
        shadow = q.split.shadow
        if shadow.enabled and q.failover_from is None:
            other: Color = "green" if q.color == "blue" else "blue"
            self.shadow.offer(ShadowJob(q.feats["features"], q.feats["schema_version"],
                                        q.color, q.prediction,
                                        tariff_step.scheduled_version(q, other),
                                        tracing.capture()), shadow.sample)
        return None

    # --- helpers ------------------------------------------------------------------------

    @property
    def _id_field(self) -> str:
        return self.product.answer_id_field or "quote_id"

    async def _run(self, q: Quote, timeout: float) -> dict[str, Any]:
        color, feats = q.color, q.feats
        t0 = time.perf_counter()
        try:
            result = await self.upstreams.predict(color, feats["features"],
                                                  feats["schema_version"], timeout,
                                                  tariff_step.scheduled_version(q, color))
            self.upstreams.record_success(color)
            return result
        except UpstreamError as e:
            self.upstreams.record_failure(color, e.reason, str(e))
            raise
        finally:
            metrics.child(metrics.UPSTREAM_DURATION, "inference", color).observe(
                time.perf_counter() - t0, tracing.exemplar())
