"""router HTTP app: the product's public path, the quote ledger's API, admin, probes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from quoteflow import metrics, products
from quoteflow.contract import ValidationErrorBody
from quoteflow.docs_assets import serve_docs_offline
from quoteflow.http import (
    BadRequest,
    FastPathAPI,
    body_schema,
    error_response,
    json_response,
    probes,
    read_json_body,
)
from quoteflow.ledger.settings import make_store
from quoteflow.ledger.store import LedgerStore
from quoteflow.router.admin import admin_router
from quoteflow.router.admission import Admission, Shed
from quoteflow.router.ledgering import QuoteLedger
from quoteflow.router.quotes import Outcome, QuoteService, Rejected, Served
from quoteflow.router.quotes_api import quotes_router
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer
from quoteflow.router.upstream import Upstreams
from quoteflow.traffic.document import PolicyFile, load_policy_file
from quoteflow.traffic.policy import COLORS, PolicyState, PolicyStore

log = logging.getLogger(__name__)
RETRY_AFTER = {"Retry-After": "1"}


def _export(state: PolicyState) -> None:
    metrics.TRAFFIC_GREEN_WEIGHT.set(state.policy.green_weight)
    metrics.TRAFFIC_SHADOW_ENABLED.set(1 if state.policy.shadow.enabled else 0)
    metrics.TRAFFIC_SHADOW_SAMPLE.set(state.policy.shadow.sample)
    metrics.POLICY_GENERATION.set(state.generation)
    log.info("traffic policy applied", extra={"generation": state.generation,
                                              "source": state.source,
                                              "policy": state.policy.document()})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]
    # An invalid or missing policy at start is fatal: never serve on a guess.
    model = settings.model_name or settings.product
    store = PolicyStore(load_policy_file(settings.policy_file, model), str(settings.policy_file),
                        model)
    store.subscribe(_export)
    upstreams = Upstreams(settings.preprocess_url,
                          {"blue": settings.blue_url, "green": settings.green_url}, store,
                          settings.pool_size, settings.health_interval)
    product = products.get(settings.product)
    shadow = ShadowComparer(upstreams, product, settings.shadow_queue, settings.shadow_concurrency,
                            settings.shadow_timeout, settings.shadow_max_per_second)
    # a product whose answers carry an id (motor's quote_id) is priced: record them
    ledger_store = (make_store(settings.ledger)
                    if settings.ledger_enabled and product.answer_id_field else None)
    ledger = (QuoteLedger(ledger_store, product, settings.instance)
              if ledger_store is not None else None)
    service = QuoteService(settings, product, store, upstreams, shadow, ledger)
    policy_file = PolicyFile(settings.policy_file, store, settings.policy_poll_interval)
    admission = Admission(settings.admission_max_in_flight, settings.admission_max_loop_lag,
                          settings.admission_lag_window,
                          retry_after_s=settings.admission_retry_after)
    metrics.QUOTES_IN_FLIGHT.set_function(lambda: admission.in_flight)
    metrics.EVENT_LOOP_LAG.set_function(lambda: admission.lag)

    lifespan = _lifespan(settings, store, upstreams, shadow, policy_file, ledger_store,
                         admission)

    app = FastPathAPI(title="quoteflow router", version="1", lifespan=lifespan,
                      description="Public quote API. Splits traffic between the Blue and Green "
                                  "models (sticky by customer key), shadows, fails over.")

    def readiness() -> tuple[bool, dict[str, Any]]:
        h = upstreams.health
        ok = h["preprocess"].ready and any(upstreams.usable(c) for c in COLORS)
        return ok, {"generation": store.generation,
                    "upstreams": {k: v.detail for k, v in h.items()}}

    def status() -> dict[str, Any]:
        return {"upstreams": {k: {"ready": v.ready, "version": v.version, "detail": v.detail}
                              for k, v in upstreams.health.items()},
                "shadow_queue": shadow.queue.qsize(),
                "policy_file_error": policy_file.last_error,
                "writable": not settings.k8s_configmap}

    app.include_router(probes(readiness))
    serve_docs_offline(app)  # /docs without a CDN
    token = settings.admin_token.get_secret_value() if settings.admin_token else None

    app.include_router(admin_router(store, token,
                                    None if settings.k8s_configmap else policy_file,
                                    status))

    _public_route(app, settings, service, admission)
    if ledger is not None:
        app.include_router(quotes_router(ledger))
    app.state.store = store
    app.state.upstreams = upstreams
    return app


def to_response(outcome: Outcome | Shed) -> Response:
    """The only place a quote outcome becomes a status code and headers."""
    if isinstance(outcome, Shed):  # refused at once: come back when the load has passed
        return json_response({"detail": outcome.detail}, 503,
                             {"Retry-After": str(outcome.retry_after_s)})
    if isinstance(outcome, Served):
        headers = ({"x-quoteflow-failover-from": outcome.failover_from}
                   if outcome.failover_from else None)  # like Envoy's attempt count
        return json_response(outcome.body, 200, headers)
    if isinstance(outcome, Rejected):  # preprocess's field errors, passed through as bytes
        return json_response(orjson.Fragment(outcome.errors), outcome.status)
    return json_response({"detail": outcome.detail}, 503, RETRY_AFTER)


def _public_route(app: FastPathAPI, settings: Settings, service: QuoteService,
                  admission: Admission) -> None:
    product = service.product

    @app.fast_post(
        product.public_path, tags=[product.name], summary=product.summary,
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": body_schema(product.request_model)}}}},
        responses={200: {"model": product.response_model},
                   422: {"model": ValidationErrorBody, "description": "one entry per bad field"},
                   413: {"model": ValidationErrorBody}, 415: {"model": ValidationErrorBody},
                   503: {"description": "temporarily unavailable; honour Retry-After"}},
    )
    async def serve(request: Request) -> Response:
        decision = admission.enter()  # before the body is read: a refusal costs the least
        if isinstance(decision, Shed):
            return to_response(decision)
        try:
            try:
                body = await read_json_body(request, settings.max_body_bytes)
            except BadRequest as e:
                metrics.QUOTES.labels("none", str(e.status)).inc()
                return error_response(e)
            return to_response(await service.serve(body))
        finally:
            admission.leave()


def _lifespan(settings: Settings, store: PolicyStore, upstreams: Upstreams,
              shadow: ShadowComparer, policy_file: PolicyFile,
              ledger: LedgerStore | None, admission: Admission
              ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if ledger is not None:  # migrations run here; an unreachable store stops the start
            await ledger.open()
            log.info("quote ledger open", extra={"store": ledger.kind,
                                                 **await ledger.durability()})
        await upstreams.start()
        # Re-check upstream versions as soon as a policy changes which version a color
        # must serve; policies may arrive on the ConfigMap watcher's thread.
        store.subscribe(lambda _s: loop.call_soon_threadsafe(
            lambda: loop.create_task(upstreams.check_all())))
        shadow.start()
        tasks = [asyncio.create_task(policy_file.run()), asyncio.create_task(admission.watch())]
        watcher = None
        if settings.k8s_configmap:
            from quoteflow.traffic.configmap import ConfigMapWatcher

            watcher = ConfigMapWatcher(store, settings.k8s_namespace, settings.k8s_configmap,
                                       settings.k8s_key)
            watcher.start()
        yield
        if watcher is not None:
            watcher.stop()
        for t in tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await shadow.stop()
        await upstreams.stop()
        if ledger is not None:  # after the drain: the last quotes' commits are waited for
            await ledger.close()

    return lifespan
