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


def parse_predict(body: bytes, max_rows: int) -> tuple[str, np.ndarray, str | None]:
    """(schema_version, float32 matrix, model_version asked for or None) from a predict
    body, or BadPredictBody naming what is wrong."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise _bad([], f"invalid JSON: {e}", "json_invalid") from e
    if not isinstance(doc, dict) or not (
            {"schema_version", "features"} <= set(doc) <= {*_KEYS, "model_version"}):
        raise _bad([], "expected an object with 'schema_version' and 'features' (and "
                       "optionally 'model_version'), nothing else", "value_error")
    version, rows, wanted = doc["schema_version"], doc["features"], doc.get("model_version")
    if not isinstance(version, str):
        raise _bad(["schema_version"], "must be a string", "string_type")
    if wanted is not None and not isinstance(wanted, str):
        raise _bad(["model_version"], "must be a string", "string_type")
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
    return version, x, wanted


_KEYS = frozenset({"schema_version", "features"})


class Dataplane:
    """``model`` is the pinned version (a predict body naming none gets it); ``extras``
    are pinned too: the versions of this color in scheduled tariffs, asked for by name
    (``model_version``) by the router when it prices a cover starting under them."""

    def __init__(self, model: OnnxModel, max_rows: int, drift_window: int,
                 extras: list[OnnxModel] | None = None) -> None:
        self.model = model
        self.models = {m.version: m for m in [model, *(extras or [])]}
        self.max_rows = max_rows
        self.drift_window = drift_window
        self.drift: DriftMonitor | None = None

    def start(self) -> None:
        """Load the models (synchronously: readiness follows them) and set up drift."""
        for extra in self.models.values():
            if extra is not self.model:
                extra.load()
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
        if len(self.models) > 1:
            detail["versions"] = list(self.models)
        failed = [x for x in self.models.values() if not x.ready]
        if not failed:
            detail["sha256"] = m.sha256
            detail["product"] = m.product_name
        elif len(self.models) == 1:
            detail["reason"] = m.failure or "loading"
        else:  # every pinned version must load: a scheduled tariff's too
            detail["reason"] = "; ".join(f"version {x.version}: {x.failure or 'loading'}"
                                         for x in failed)
        return not failed, detail

    def _not_served(self, wanted: str | None) -> str:
        ready = [v for v, x in self.models.items() if x.ready]
        return (f"version {wanted} is not served here (pinned: {', '.join(self.models)}; "
                f"ready: {', '.join(ready) or 'none'})")

    def refresh_drift(self) -> None:
        if self.drift is not None:
            publish_drift_metrics(self.drift)

    def predict(self, body: bytes) -> Outcome:
        if not self.model.ready or self.model.product is None:
            metrics.PREDICT_REJECTED.labels("not_ready").inc()
            return NotReady(self.model.failure or "loading")
        start = time.perf_counter()
        try:
            version, x, wanted = parse_predict(body, self.max_rows)
            m = self.model if wanted is None else self.models.get(wanted)
            if m is None or not m.ready or m.product is None:
                metrics.PREDICT_REJECTED.labels("version").inc()
                return Refused(409, [{"loc": ["body", "model_version"], "msg": self._not_served(
                    wanted), "type": "version_not_served"}])
            product = m.product
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
        if problem := product.check_warm_up(out):
            metrics.PREDICT_REJECTED.labels("out_of_domain").inc()
            return Refused(422, [{"loc": ["body", "features"], "type": "out_of_domain",
                                  "msg": f"the model gives {problem} for these features: "
                                         "they are far outside anything it was trained on"}])
        if self.drift is not None and m is self.model:
            self.drift.observe(x[:, :len(product.raw_features)])
        answer = {"model": m.model_ref(), **product.answer_extras(m.metadata),
                  "predictions": m.predictions(out, x)}
        metrics.PREDICT_DURATION.observe(time.perf_counter() - start)
        return Predicted(answer)

    def info(self) -> dict[str, Any] | None:
        if not self.model.ready:
            return None
        return {k: v for k, v in self.model.metadata.items() if k != "reference_histograms"}

    def close(self) -> None:
        for m in self.models.values():
            m.close()
