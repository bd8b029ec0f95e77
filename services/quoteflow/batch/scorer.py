"""Score judged rows: the product's feature derivation, then the model's ONNX graph.

The model is loaded by inference's own ``OnnxModel`` (registry lookup, sha256 check,
the product's contract check, warm-up) with inference's session options: one intra-op
thread, sequential. That is not only the live setting: it is what makes a row's result
independent of the batch it is scored in. With two intra-op threads, onnxruntime's
tree ensemble splits batches of ~64 rows and more differently from a single row and
about 40% of a gradient-boosting model's premiums moved by up to 1e-6 relative (see
tests/unit/batch/test_batch_invariance.py), which would break live/batch parity.

Some graphs differ between one row and a batch even on one thread: the claims
logistic regression (ai.onnx.ml LinearClassifier, float32) moved a probability by
1-2 ulp (0.66116965 alone, 0.66116977 in any batch of 2 or more). Live inference
scores one row per request, so that is the truth batch must match: each model is
checked on the book's first rows (``batch_invariant``) and one that is not
invariant is scored a row per call (``Scorer.row_by_row`` says which).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from quoteflow.batch.judged import Judged
from quoteflow.inference.model import OnnxModel
from quoteflow.products.base import Product
from quoteflow.registry import Registry, RegistryError

# Rows per ONNX call: large enough to amortise the call, small enough for the cache.
ONNX_BATCH_ROWS = 8192


class ModelLoadError(Exception):
    pass


def load_model(registry: Registry, ref: str) -> OnnxModel:
    """``name``, ``name:version`` or ``name@stage``, loaded and verified as inference does."""
    mv = registry.resolve(ref)
    model = OnnxModel(registry, mv.name, mv.version, intra_op_threads=1)
    model.load()
    if not model.ready or model.product is None:
        raise ModelLoadError(f"model {mv.name} version {mv.version}: {model.failure}")
    if model.schema_version != model.product.feature_schema_version:
        raise ModelLoadError(
            f"model {mv.name} version {mv.version} was trained on feature schema "
            f"{model.schema_version!r}; this code derives schema "
            f"{model.product.feature_schema_version!r}")
    return model


def load_compare(registry: Registry, model: OnnxModel, version: str) -> OnnxModel:
    if str(version) == model.version:
        raise RegistryError(f"--compare {version} is the scored version itself")
    return load_model(registry, f"{model.name}:{version}")


def predict(model: OnnxModel, x: np.ndarray, rows: int = ONNX_BATCH_ROWS
            ) -> dict[str, np.ndarray]:
    """Graph outputs for every row of x, run in slices of ``rows``."""
    assert model.product is not None
    if len(x) == 0:
        return {s.name: np.empty((0,) if s.width in (None, 1) else (0, s.width), dtype=s.dtype)
                for s in model.product.model_io.outputs}
    model.check(model.product.feature_schema_version, x)
    parts = [model.run(x[i:i + rows]) for i in range(0, len(x), rows)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def batch_invariant(model: OnnxModel, x: np.ndarray, sample: int = 64) -> bool:
    """Whether the graph gives each of x's first rows, scored together, bit for bit
    what it gives that row alone (as live inference scores it)."""
    head = x[:sample]
    if len(head) < 2:
        return True
    together, alone = predict(model, head), predict(model, head, rows=1)
    return all(np.array_equal(together[k], alone[k]) for k in together)


def _repeat(value: str, n: int) -> pa.Array:
    # dictionary-encoded: a constant column costs nothing to build or to write
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)),
                                          pa.array([str(value)]))


@dataclass
class Scorer:
    model: OnnxModel
    compare: OnnxModel | None = None
    # versions scored a row per call, their graph not being batch-invariant
    row_by_row: list[str] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=dict)

    def _predict(self, model: OnnxModel, x: np.ndarray) -> dict[str, np.ndarray]:
        if model.version not in self._rows and len(x) >= 2:
            invariant = batch_invariant(model, x)
            self._rows[model.version] = ONNX_BATCH_ROWS if invariant else 1
            if not invariant:
                self.row_by_row.append(model.version)
        return predict(model, x, self._rows.get(model.version, ONNX_BATCH_ROWS))

    @property
    def product(self) -> Product:
        assert self.model.product is not None
        return self.model.product

    def features(self, judged: Judged) -> np.ndarray:
        return self.product.features(judged.columns)

    def price(self, judged: Judged, x: np.ndarray, row_offset: int,
              carried: pa.RecordBatch) -> pa.Table:
        """One output row per scored row (x: their features), in input order.

        ``carried`` holds the chunk's pass-through columns (policy_id), all rows.
        """
        n = len(x)
        cols: dict[str, pa.Array | np.ndarray] = {"row_number": judged.ok + row_offset + 1}
        if "policy_id" in carried.schema.names:
            cols["policy_id"] = carried.column("policy_id").take(pa.array(judged.ok))
        cols.update(self.product.batch_columns(judged.columns, self._predict(self.model, x), x,
                                               self.model.metadata))
        cols.update({"model_name": _repeat(self.model.name, n),
                     "model_version": _repeat(self.model.version, n),
                     "model_sha256": _repeat(self.model.sha256, n)})
        if self.compare is not None:
            head = self.product.headline_column
            other = self.product.batch_columns(judged.columns, self._predict(self.compare, x), x,
                                               self.compare.metadata)
            cols["compare_version"] = _repeat(self.compare.version, n)
            cols[f"compare_{head}"] = other[head]
        return pa.table(cols)
