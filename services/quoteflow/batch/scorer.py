"""Price judged rows: features.quote_features, then the model's ONNX graph, vectorised.

The model is loaded by inference's own ``PricingModel`` (registry lookup, sha256 check,
contract check, warm-up) with inference's session options: one intra-op thread,
sequential. That is not only the live setting: it is what makes a row's price
independent of the batch it is scored in. With two intra-op threads, onnxruntime's
tree ensemble splits batches of ~64 rows and more differently from a single row and
about 40% of a gradient-boosting model's premiums moved by up to 1e-6 relative (see
tests/unit/batch/test_batch_invariance.py), which would break live/batch parity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from quoteflow.batch.requests import Judged
from quoteflow.features import FEATURE_SCHEMA_VERSION, quote_features
from quoteflow.inference.model import PricingModel
from quoteflow.registry import Registry, RegistryError

# Rows per ONNX call: large enough to amortise the call, small enough for the cache.
ONNX_BATCH_ROWS = 8192


class ModelLoadError(Exception):
    pass


def load_model(registry: Registry, ref: str) -> PricingModel:
    """``name``, ``name:version`` or ``name@stage``, loaded and verified as inference does."""
    mv = registry.resolve(ref)
    model = PricingModel(registry, mv.name, mv.version, intra_op_threads=1)
    model.load()
    if not model.ready:
        raise ModelLoadError(f"model {mv.name} version {mv.version}: {model.failure}")
    if model.schema_version != FEATURE_SCHEMA_VERSION:
        raise ModelLoadError(
            f"model {mv.name} version {mv.version} was trained on feature schema "
            f"{model.schema_version!r}; this code derives schema {FEATURE_SCHEMA_VERSION!r}")
    return model


def load_compare(registry: Registry, model: PricingModel, version: str) -> PricingModel:
    if str(version) == model.version:
        raise RegistryError(f"--compare {version} is the scored version itself")
    return load_model(registry, f"{model.name}:{version}")


def predict(model: PricingModel, x: np.ndarray) -> dict[str, np.ndarray]:
    """Graph outputs for every row of x, run in slices of ONNX_BATCH_ROWS."""
    if len(x) == 0:
        return {k: np.empty(0) for k in ("frequency", "severity", "pure_premium", "premium")}
    model.check(FEATURE_SCHEMA_VERSION, x)
    parts = [model.run(x[i:i + ONNX_BATCH_ROWS]) for i in range(0, len(x), ONNX_BATCH_ROWS)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _repeat(value: str, n: int) -> pa.Array:
    # dictionary-encoded: a constant column costs nothing to build or to write
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                          pa.array([str(value)]))


@dataclass
class Scorer:
    model: PricingModel
    compare: PricingModel | None = None

    @staticmethod
    def features(judged: Judged) -> np.ndarray:
        return quote_features(judged.columns)

    def price(self, judged: Judged, x: np.ndarray, row_offset: int,
              carried: pa.RecordBatch) -> pa.Table:
        """One output row per priced row (x: their features), in input order.

        ``carried`` holds the chunk's pass-through columns (policy_id), all rows.
        """
        out = predict(self.model, x)
        p = self.model.pricing
        n = len(x)
        premium = out["premium"]
        cols: dict[str, pa.Array | np.ndarray] = {
            "row_number": judged.ok + row_offset + 1,
        }
        if "policy_id" in carried.schema.names:
            cols["policy_id"] = carried.column("policy_id").take(pa.array(judged.ok))
        cols.update({
            "quote_date": judged.columns.quote_date,
            "premium": premium,
            "currency": _repeat(p["currency"], n),
            "expected_frequency": out["frequency"],
            "expected_severity": out["severity"],
            "pure_premium": out["pure_premium"],
            "expense_loading": np.full(n, float(p["expense_loading"])),
            "profit_loading": np.full(n, float(p["profit_loading"])),
            "minimum_premium": np.full(n, float(p["minimum_premium"])),
            # as inference reports it (PricingModel.predictions)
            "minimum_applied": premium <= float(p["minimum_premium"]),
            "model_name": _repeat(self.model.name, n),
            "model_version": _repeat(self.model.version, n),
            "model_sha256": _repeat(self.model.sha256, n),
        })
        if self.compare is not None:
            cols["compare_version"] = _repeat(self.compare.version, n)
            cols["compare_premium"] = predict(self.compare, x)["premium"]
        return pa.table(cols)
