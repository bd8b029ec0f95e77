"""inference HTTP app: POST /v1/predict for one pinned model version."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import numpy as np
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response

from quoteflow import metrics
from quoteflow.contract import PredictRequest, PredictResponse, ValidationErrorBody
from quoteflow.docs_assets import serve_docs_offline
from quoteflow.features import RAW_FEATURES
from quoteflow.http import (
    BadRequest,
    FastPathAPI,
    body_schema,
    error_response,
    json_response,
    probes,
    read_json_body,
)
from quoteflow.inference.model import PricingModel, SchemaMismatch
from quoteflow.inference.settings import Settings
from quoteflow.observability.drift import DriftMonitor, publish_drift_metrics
from quoteflow.registry import Registry

N_RAW = len(RAW_FEATURES)  # the first columns of the feature vector are the raw features


def parse_predict(body: bytes, max_rows: int) -> tuple[str, np.ndarray]:
    """(schema_version, float32 matrix) from a predict body, or BadRequest naming the problem."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(422, [{"loc": ["body"], "msg": f"invalid JSON: {e}",
                                "type": "json_invalid"}]) from e
    if not isinstance(doc, dict) or set(doc) != {"schema_version", "features"}:
        raise BadRequest(422, [{"loc": ["body"], "msg": "expected an object with exactly "
                                "'schema_version' and 'features'", "type": "value_error"}])
    version, rows = doc["schema_version"], doc["features"]
    if not isinstance(version, str):
        raise BadRequest(422, [{"loc": ["body", "schema_version"], "msg": "must be a string",
                                "type": "string_type"}])
    if not isinstance(rows, list) or not rows or len(rows) > max_rows:
        raise BadRequest(422, [{"loc": ["body", "features"],
                                "msg": f"must be a list of 1 to {max_rows} rows",
                                "type": "value_error"}])
    for i, row in enumerate(rows):
        # numpy would quietly turn "1.5" and true into numbers: only JSON numbers pass
        if not isinstance(row, list) or not all(type(v) is float or type(v) is int
                                                for v in row):
            raise BadRequest(422, [{"loc": ["body", "features", i],
                                    "msg": "a row must be a list of JSON numbers",
                                    "type": "float_type"}])
    try:
        x = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError) as e:
        raise BadRequest(422, [{"loc": ["body", "features"],
                                "msg": f"rows must be equal-length lists of numbers ({e})",
                                "type": "value_error"}]) from e
    if not np.isfinite(x).all():  # 1e999, or beyond float32's range
        raise BadRequest(422, [{"loc": ["body", "features"],
                                "msg": "features must be finite numbers within float32 range",
                                "type": "finite_number"}])
    return version, x


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()  # type: ignore[call-arg]
    model = PricingModel(Registry(settings.registry_dir), settings.model_name,
                         settings.model_version, settings.intra_op_threads)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading is synchronous on purpose: uvicorn starts serving (and /readyz
        # answers 200) only after it; a failed load leaves /readyz at 503 with why.
        model.load()
        if model.ready:
            app.state.drift = DriftMonitor(model.metadata["reference_histograms"],
                                           window=settings.drift_window)
            metrics.MODEL_INFO.info({"name": model.name, "version": model.version,
                                     "sha256": model.sha256,
                                     "schema_version": model.schema_version})
        yield
        model.close()

    app = FastPathAPI(title="quoteflow inference", version="1", lifespan=lifespan,
                      description="Serves one pinned ONNX model version; refuses features of "
                                  "another schema version.")
    serve_docs_offline(app)  # /docs without a CDN
    app.state.model = model
    app.state.drift = None

    def readiness() -> tuple[bool, dict[str, Any]]:
        detail: dict[str, Any] = {"model": model.name, "version": model.version}
        if model.ready:
            detail["sha256"] = model.sha256
        else:
            detail["reason"] = model.failure or "loading"
        return model.ready, detail

    def refresh_drift() -> None:
        if app.state.drift is not None:
            publish_drift_metrics(app.state.drift)

    app.include_router(probes(readiness, before_scrape=refresh_drift))

    @app.fast_post(
        "/v1/predict", tags=["predict"], summary="Price a batch of feature vectors",
        openapi_extra={"requestBody": {"required": True, "content": {
            "application/json": {"schema": body_schema(PredictRequest)}}}},
        responses={200: {"model": PredictResponse},
                   409: {"model": ValidationErrorBody, "description": "schema version mismatch"},
                   422: {"model": ValidationErrorBody}, 503: {"description": "model not ready"}},
    )
    async def predict(request: Request) -> Response:
        start = time.perf_counter()
        if not model.ready:
            metrics.PREDICT_REJECTED.labels("not_ready").inc()
            return json_response({"detail": f"model not ready: {model.failure or 'loading'}"},
                                 503, {"Retry-After": "1"})
        if settings.artificial_delay_ms:
            await asyncio.sleep(settings.artificial_delay_ms / 1000)
        try:
            body = await read_json_body(request, settings.max_body_bytes)
            version, x = parse_predict(body, settings.max_batch_rows)
            model.check(version, x)
        except BadRequest as e:
            metrics.PREDICT_REJECTED.labels("invalid").inc()
            return error_response(e)
        except SchemaMismatch as e:
            metrics.PREDICT_REJECTED.labels("schema").inc()
            return json_response({"detail": [{"loc": ["body", "features"], "msg": str(e),
                                              "type": "schema_mismatch"}]}, 409)
        t0 = time.perf_counter()
        out = model.run(x)
        metrics.ONNX_RUN_DURATION.observe(time.perf_counter() - t0)
        metrics.PREDICT_ROWS.inc(len(x))
        app.state.drift.observe(x[:, :N_RAW])
        body_out = {"model": model.model_ref(), "currency": model.pricing["currency"],
                    "predictions": model.predictions(out)}
        metrics.PREDICT_DURATION.observe(time.perf_counter() - start)
        return json_response(body_out)

    @app.get("/v1/model", tags=["predict"], summary="The served model's metadata")
    async def model_info() -> Response:
        if not model.ready:
            return json_response({"detail": f"model not ready: {model.failure}"}, 503)
        meta = {k: v for k, v in model.metadata.items() if k != "reference_histograms"}
        return json_response(meta)

    return app
