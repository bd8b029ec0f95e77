"""inference's request logic, no HTTP: parse a predict body, check, run, shape, observe.

``Dataplane.predict`` returns a typed outcome (Predicted, Refused, NotReady); the app
maps it to a status code. Unit-tested in process (tests/unit/inference).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from quoteflow import metrics
from quoteflow.inference.model import OnnxModel, SchemaMismatch
from quoteflow.observability.drift import DriftMonitor, publish_drift_metrics


@dataclass(frozen=True)
class Predicted:
    body: dict[str, Any]


@dataclass(frozen=True)
class Refused:
    """The request cannot be run: 422 (malformed) or 409 (another feature schema)."""

    status: int
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class NotReady:
    reason: str


Outcome = Predicted | Refused | NotReady


class BadPredictBody(ValueError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["msg"])
        self.errors = errors


def _bad(loc: list[str | int], msg: str, kind: str) -> BadPredictBody:
    return BadPredictBody([{"loc": ["body", *loc], "msg": msg, "type": kind}])


def parse_predict(body: bytes, max_rows: int) -> tuple[str, np.ndarray]:
    """(schema_version, float32 matrix) from a predict body, or BadPredictBody naming it."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise _bad([], f"invalid JSON: {e}", "json_invalid") from e
    if not isinstance(doc, dict) or set(doc) != {"schema_version", "features"}:
        raise _bad([], "expected an object with exactly 'schema_version' and 'features'",
                   "value_error")
    version, rows = doc["schema_version"], doc["features"]
    if not isinstance(version, str):
        raise _bad(["schema_version"], "must be a string", "string_type")
    if not isinstance(rows, list) or not rows or len(rows) > max_rows:
        raise _bad(["features"], f"must be a list of 1 to {max_rows} rows", "value_error")
    for i, row in enumerate(rows):
        # numpy would quietly turn "1.5" and true into numbers: only JSON numbers pass
        if not isinstance(row, list) or not all(type(v) is float or type(v) is int
                                                for v in row):
            raise _bad(["features", i], "a row must be a list of JSON numbers", "float_type")
    try:
        x = np.asarray(rows, dtype=np.float32)
    except (ValueError, TypeError) as e:
        raise _bad(["features"], f"rows must be equal-length lists of numbers ({e})",
                   "value_error") from e
    if not np.isfinite(x).all():  # 1e999, or beyond float32's range
        raise _bad(["features"], "features must be finite numbers within float32 range",
                   "finite_number")
    return version, x


class Dataplane:
    def __init__(self, model: OnnxModel, max_rows: int, drift_window: int) -> None:
        self.model = model
        self.max_rows = max_rows
        self.drift_window = drift_window
        self.drift: DriftMonitor | None = None

    def start(self) -> None:
        """Load the model (synchronously: readiness follows it) and set up drift."""
        m = self.model
        m.load()
        if m.ready and m.product is not None:
            self.drift = DriftMonitor(m.metadata["reference_histograms"],
                                      m.product.raw_features, window=self.drift_window)
            metrics.MODEL_INFO.info({"name": m.name, "version": m.version, "sha256": m.sha256,
                                     "schema_version": m.schema_version,
                                     "product": m.product_name})

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        m = self.model
        detail: dict[str, Any] = {"model": m.name, "version": m.version}
        if m.ready:
            detail["sha256"] = m.sha256
            detail["product"] = m.product_name
        else:
            detail["reason"] = m.failure or "loading"
        return m.ready, detail

    def refresh_drift(self) -> None:
        if self.drift is not None:
            publish_drift_metrics(self.drift)

    def predict(self, body: bytes) -> Outcome:
        m = self.model
        if not m.ready or m.product is None:
            metrics.PREDICT_REJECTED.labels("not_ready").inc()
            return NotReady(m.failure or "loading")
        start = time.perf_counter()
        try:
            version, x = parse_predict(body, self.max_rows)
            m.check(version, x)
        except BadPredictBody as e:
            metrics.PREDICT_REJECTED.labels("invalid").inc()
            return Refused(422, e.errors)
        except SchemaMismatch as e:
            metrics.PREDICT_REJECTED.labels("schema").inc()
            return Refused(409, [{"loc": ["body", "features"], "msg": str(e),
                                  "type": "schema_mismatch"}])
        t0 = time.perf_counter()
        out = m.run(x)
        metrics.ONNX_RUN_DURATION.observe(time.perf_counter() - t0)
        metrics.PREDICT_ROWS.inc(len(x))
        if problem := m.product.check_warm_up(out):
            metrics.PREDICT_REJECTED.labels("out_of_domain").inc()
            return Refused(422, [{"loc": ["body", "features"], "type": "out_of_domain",
                                  "msg": f"the model gives {problem} for these features: "
                                         "they are far outside anything it was trained on"}])
        if self.drift is not None:
            self.drift.observe(x[:, :len(m.product.raw_features)])
        answer = {"model": m.model_ref(), **m.product.answer_extras(m.metadata),
                  "predictions": m.predictions(out, x)}
        metrics.PREDICT_DURATION.observe(time.perf_counter() - start)
        return Predicted(answer)

    def info(self) -> dict[str, Any] | None:
        if not self.model.ready:
            return None
        return {k: v for k, v in self.model.metadata.items() if k != "reference_histograms"}

    def close(self) -> None:
        self.model.close()
