"""preprocess HTTP app: POST /v1/features/{product}. Knows nothing of colors or models."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from quoteflow import products, tracing
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
from quoteflow.preprocess.derive import Dataplane, Derived
from quoteflow.preprocess.settings import Settings
from quoteflow.products.base import Product


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    served = [products.get(name) for name in settings.products]
    plane = Dataplane(served)
    tracing.configure("preprocess", settings.tracing)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plane.start()  # synchronous, as inference's load: serving starts warm
        yield
        tracing.shutdown()  # the last spans sent

    app = FastPathAPI(title="quoteflow preprocess", version="1", lifespan=lifespan,
                      description="Validates requests and derives the model's features with "
                                  "the same module the product's training uses.")
    app.state.dataplane = plane
    app.include_router(probes(plane.readiness))
    serve_docs_offline(app)  # /docs without a CDN
    for product in served:
        _route(app, settings, plane, product, f"/v1/features/{product.name}")
    # the first product keeps the path it had before there were several
    _route(app, settings, plane, served[0], "/v1/features")
    return app


def _route(app: FastPathAPI, settings: Settings, plane: Dataplane, product: Product,
           path: str) -> None:
    @app.fast_post(
        path, tags=["features"], summary=f"Validate a {product.name} request, derive features",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": body_schema(product.request_model)}}}},
        responses={422: {"model": ValidationErrorBody, "description": "one entry per bad field"},
                   413: {"model": ValidationErrorBody}, 415: {"model": ValidationErrorBody}},
    )
    async def features(request: Request) -> Response:
        start = time.perf_counter()
        if settings.artificial_delay_ms:
            await asyncio.sleep(settings.artificial_delay_ms / 1000)
        try:
            body = await read_json_body(request, settings.max_body_bytes)
        except BadRequest as e:
            plane.refused(start)
            return error_response(e)
        outcome = plane.features(product, body, start)
        if isinstance(outcome, Derived):
            return json_response(outcome.body)
        return json_response({"detail": outcome.errors}, 422)
