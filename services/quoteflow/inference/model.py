"""One pinned model version: load (checksum verified), check its contract, warm up, run.

The KServe split: this module owns the model's state; the dataplane orchestrates a
request and the HTTP app only translates. Which product the version belongs to comes
from its metadata, and the graph is checked against that product's ModelIO. Ready
only after the artifact was verified, the session built and a warm-up batch gave
outputs the product accepts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort

from quoteflow import products
from quoteflow.products.base import Product
from quoteflow.registry import Registry, RegistryError

log = logging.getLogger(__name__)


class SchemaMismatch(ValueError):
    """Features of another schema version, or of the wrong shape."""


def contract_problems(session: ort.InferenceSession, product: Product) -> list[str]:
    """How the graph departs from the product's ModelIO (names, dtypes, widths)."""
    io = product.model_io
    problems = []
    inputs = session.get_inputs()
    if [i.name for i in inputs] != [io.input.name]:
        problems.append(f"inputs {[i.name for i in inputs]}, expected [{io.input.name!r}]")
    elif inputs[0].type != f"tensor({_onnx_type(io.input.dtype)})":
        problems.append(f"input {io.input.name} is {inputs[0].type}")
    found = {o.name: o for o in session.get_outputs()}
    for spec in io.outputs:
        o = found.get(spec.name)
        if o is None:
            problems.append(f"missing output {spec.name}")
        elif o.type != f"tensor({_onnx_type(spec.dtype)})":
            problems.append(f"output {spec.name} is {o.type}, expected {spec.dtype}")
    return problems


def _onnx_type(dtype: str) -> str:
    return {"float32": "float", "float64": "double"}.get(dtype, dtype)


@dataclass
class OnnxModel:
    registry: Registry
    name: str
    version: str
    intra_op_threads: int = 1
    ready: bool = False
    failure: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    product: Product | None = None
    _session: ort.InferenceSession | None = None

    def load(self) -> None:
        """Verify and load; on any failure stay not-ready and keep the reason."""
        try:
            mv, onnx_bytes = self.registry.load(self.name, self.version)
            product = products.of_metadata(mv.metadata)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.intra_op_threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
            problems = contract_problems(session, product) + [
                f"metadata lacks {key!r}" for key in product.required_metadata
                if key not in mv.metadata]
            if problems:
                raise RegistryError(f"{mv.onnx_path}: artifact does not follow the {product.name} "
                                    f"contract: {'; '.join(problems)}")
            self.metadata, self.product, self._session = mv.metadata, product, session
            self._warm_up()
        # broad on purpose: onnxruntime's errors (InvalidProtobuf, Fail...) derive from
        # Exception only, and any load failure must leave a live, not-ready process
        except Exception as e:
            self.failure = str(e)
            self.ready = False
            log.error("model not loaded: %s", e, extra={"model": self.name,
                                                        "version": self.version})
            return
        self.ready = True
        self.failure = None
        log.info("model ready", extra={"model": self.name, "version": self.version,
                                       "sha256": self.sha256, "product": self.product_name})

    def _warm_up(self) -> None:
        # Rows at the middle of each reference histogram: realistic, finite inputs.
        assert self.product is not None
        x = np.zeros((8, len(self.feature_names)), dtype=np.float32)
        hist = self.metadata.get("reference_histograms", {})
        for j, fname in enumerate(self.feature_names):
            edges = hist.get(fname, {}).get("edges")
            if edges:
                x[:, j] = edges[len(edges) // 2]
        for _ in range(20):
            out = self.run(x)
        problem = self.product.check_warm_up(out)
        if problem:
            raise ValueError(f"warm-up produced {problem}")

    @property
    def product_name(self) -> str:
        return self.product.name if self.product else "unknown"

    @property
    def feature_names(self) -> list[str]:
        return list(self.metadata["feature_names"])

    @property
    def schema_version(self) -> str:
        return str(self.metadata["feature_schema_version"])

    @property
    def sha256(self) -> str:
        return str(self.metadata.get("onnx_sha256", ""))

    def check(self, schema_version: str, x: np.ndarray) -> None:
        if schema_version != self.schema_version:
            raise SchemaMismatch(
                f"features are schema version {schema_version!r}; model {self.name} "
                f"version {self.version} was trained on schema version {self.schema_version!r}")
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise SchemaMismatch(f"features must be rows of {len(self.feature_names)} values "
                                 f"({', '.join(self.feature_names)}); got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise SchemaMismatch("features contain NaN or infinity")

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Raw graph outputs named by the product's ModelIO, each flattened per row
        (a width-1 output becomes one value a row, wider ones stay 2-D)."""
        assert self._session is not None and self.product is not None
        specs = self.product.model_io.outputs
        values = self._session.run([s.name for s in specs], {self.product.model_io.input.name: x})
        out = {}
        for spec, v in zip(specs, values, strict=True):
            arr = np.asarray(v, dtype=spec.dtype)
            out[spec.name] = arr.reshape(-1) if spec.width in (None, 1) else arr
        return out

    def predictions(self, out: dict[str, np.ndarray], x: np.ndarray) -> list[dict[str, Any]]:
        assert self.product is not None
        return self.product.shape(out, x, self.metadata)

    def model_ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    def close(self) -> None:
        self._session = None
        self.ready = False
