"""inference HTTP app: POST /v1/predict for one pinned model version (see dataplane.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import GenericAlias
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from quoteflow import metrics, products, tracing
from quoteflow.contract import PredictRequest, PredictResponse, ValidationErrorBody
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
from quoteflow.inference.dataplane import Dataplane, NotReady, Predicted
from quoteflow.inference.model import OnnxModel
from quoteflow.inference.settings import Settings
from quoteflow.registry import Registry


def documented(registry: Registry, name: str,
               version: str) -> tuple[type[BaseModel], type[BaseModel]]:
    """Request and response models of the served version, for the OpenAPI page.

    The schema version and row width are the pinned model's, so the page (and a client
    generated from it) asks for what /v1/predict accepts. Read from metadata only; a
    version that cannot be read is documented generically (the load will fail later,
    and /readyz will say why)."""
    try:
        meta = registry.get(name, version).metadata
        product = products.of_metadata(meta)
        width = len(meta["feature_names"])
        schema_version = str(meta["feature_schema_version"])
    except Exception:  # any failure is reported by the load, not here
        return PredictRequest, PredictResponse
    # Types made of run-time values (pydantic reads them; to mypy they are Any):
    # Literal[schema_version], list[row] and list[product.prediction_model].
    pinned: Any = Literal.__getitem__(schema_version)
    rows: Any = GenericAlias(list, (Annotated[list[float], Field(min_length=width,
                                                                 max_length=width)],))
    predictions: Any = GenericAlias(list, (product.prediction_model,))
    request = create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [
            {"schema_version": schema_version, "features": [[0.0] * width]}]}),
        schema_version=(pinned, ...),
        features=(rows, Field(min_length=1, max_length=10_000)))
    response = create_model("PredictResponse", __base__=PredictResponse,
                            predictions=(predictions, ...))
    return request, response


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    registry = Registry(settings.registry_dir)
    model = OnnxModel(registry, settings.model_name, settings.model_version,
                      settings.intra_op_threads)
    extras = [OnnxModel(registry, settings.model_name, v, settings.intra_op_threads)
              for v in dict.fromkeys(settings.extra_versions) if v != settings.model_version]
    plane = Dataplane(model, settings.max_batch_rows, settings.drift_window, extras)
    tracing.configure("inference", settings.tracing, _served(settings))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading is synchronous on purpose: uvicorn starts serving (and /readyz
        # answers 200) only after it; a failed load leaves /readyz at 503 with why.
        plane.start()
        yield
        plane.close()

    app = FastPathAPI(title="quoteflow inference", version="1", lifespan=lifespan,
                      description="Serves one pinned ONNX model version; refuses features of "
                                  "another schema version.")
    app.state.model = model
    serve_docs_offline(app)  # /docs without a CDN
    app.state.dataplane = plane
    app.include_router(probes(plane.readiness, before_scrape=plane.refresh_drift))
    request_model, response = documented(registry, settings.model_name, settings.model_version)

    @app.fast_post(
        "/v1/predict", tags=["predict"], summary="Run the model on a batch of feature vectors",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": body_schema(request_model)}}}},
        responses={200: {"model": response},
                   409: {"model": ValidationErrorBody, "description": "schema version mismatch"},
                   422: {"model": ValidationErrorBody}, 503: {"description": "model not ready"}},
    )
    async def predict(request: Request) -> Response:
        body = b""  # not ready: whatever the body, the dataplane says so (and counts it)
        if model.ready:
            if settings.artificial_delay_ms:
                await asyncio.sleep(settings.artificial_delay_ms / 1000)
            try:
                body = await read_json_body(request, settings.max_body_bytes)
            except BadRequest as e:
                metrics.PREDICT_REJECTED.labels("invalid").inc()
                return error_response(e)
        outcome = plane.predict(body)
        if isinstance(outcome, Predicted):
            return json_response(outcome.body)
        if isinstance(outcome, NotReady):
            return _not_ready(outcome)
        return json_response({"detail": outcome.errors}, outcome.status)

    @app.get("/v1/model", tags=["predict"], summary="The served model's metadata")
    async def model_info() -> Response:
        info = plane.info()
        if info is None:
            return json_response({"detail": f"model not ready: {model.failure}"}, 503)
        return json_response(info)

    return app


def _served(settings: Settings) -> dict[str, str]:
    """The traces' resource: which model version this process serves (the exporter
    flushes at exit)."""
    return {"quoteflow.model.name": settings.model_name,
            "quoteflow.model.version": settings.model_version}


def _not_ready(outcome: NotReady) -> Response:
    return json_response({"detail": f"model not ready: {outcome.reason}"}, 503,
                         {"Retry-After": "1"})
