"""preprocess HTTP app: POST /v1/features. Knows nothing of colors or models."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from fastapi import FastAPI, Request
from fastapi.responses import Response

from quoteflow import metrics
from quoteflow.contract import QuoteRequest, ValidationErrorBody
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
from quoteflow.preprocess.derive import QuoteRejected, derive
from quoteflow.preprocess.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastPathAPI(title="quoteflow preprocess", version="1",
                      description="Validates quote requests and derives the model's features "
                                  "with the same module training uses.")
    serve_docs_offline(app)  # /docs without a CDN
    app.include_router(probes(lambda: (True, {})))
    request_schema = body_schema(QuoteRequest)

    @app.fast_post(
        "/v1/features", tags=["features"], summary="Validate a quote request, derive features",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": request_schema}}}},
        responses={422: {"model": ValidationErrorBody, "description": "one entry per bad field"},
                   413: {"model": ValidationErrorBody}, 415: {"model": ValidationErrorBody}},
    )
    async def features(request: Request) -> Response:
        start = time.perf_counter()
        if settings.artificial_delay_ms:
            await asyncio.sleep(settings.artificial_delay_ms / 1000)
        try:
            body = await read_json_body(request, settings.max_body_bytes)
            result = derive(body, dt.datetime.now(dt.UTC).date())
        except BadRequest as e:
            metrics.PREPROCESS_DURATION.labels("rejected").observe(time.perf_counter() - start)
            return error_response(e)
        except QuoteRejected as e:
            for err in e.errors:
                field = err["loc"][1] if len(err["loc"]) > 1 else "body"
                metrics.PREPROCESS_REJECTIONS.labels(str(field)).inc()
            metrics.PREPROCESS_DURATION.labels("rejected").observe(time.perf_counter() - start)
            return json_response({"detail": e.errors}, 422)
        metrics.PREPROCESS_DURATION.labels("ok").observe(time.perf_counter() - start)
        return json_response(result)

    return app
