"""router HTTP app: the product's public path, the quote ledger's API, admin, probes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from quoteflow import metrics, tracing
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
from quoteflow.router.admin import admin_router
from quoteflow.router.admission import Admission, Shed
from quoteflow.router.quote import Outcome, Rejected, Served
from quoteflow.router.quotes import QuoteService
from quoteflow.router.quotes_api import quotes_router
from quoteflow.router.server import Router
from quoteflow.router.settings import Settings

RETRY_AFTER = {"Retry-After": "1"}


def create_app(settings: Settings | None = None) -> FastAPI:
    router = Router.from_settings(settings or Settings())
    tracing.configure("router", router.settings.tracing,
                      {"quoteflow.product": router.settings.product})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await router.start()
        try:
            yield
        finally:  # after serving.py's drain
            await router.stop()
            tracing.shutdown()  # the last spans sent

    app = FastPathAPI(title="quoteflow router", version="1", lifespan=lifespan,
                      description="Public quote API. Splits traffic between the Blue and Green "
                                  "models (sticky by customer key), shadows, fails over.")
    app.include_router(probes(router.readiness))
    serve_docs_offline(app)  # /docs without a CDN
    s = router.settings
    token = s.admin_token.get_secret_value() if s.admin_token else None
    app.include_router(admin_router(router.store, token,
                                    router.policy_file if router.writable else None,
                                    router.status, router.upstreams.unserved))
    _public_route(app, s, router.quotes, router.admission)
    if router.ledger is not None:
        app.include_router(quotes_router(router.ledger))
    app.state.router = router
    app.state.store = router.store
    app.state.upstreams = router.upstreams
    return app


def to_response(outcome: Outcome | Shed) -> Response:
    """The only place a quote outcome becomes a status code and headers."""
    if isinstance(outcome, Shed):  # refused at once: come back when the load has passed
        return json_response({"detail": outcome.detail}, 503,
                             {"Retry-After": str(outcome.retry_after_s)})
    if isinstance(outcome, Served):
        headers: dict[str, str] | None = (
            {"x-quoteflow-failover-from": outcome.failover_from}
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
