"""One pinned model version: load (checksum verified), warm up, predict batches.

The KServe split: this module owns the model's state and ``predict``; the HTTP app
only translates. Readiness is this object's state: ready only after the artifact
was verified, the session built and a warm-up batch gave finite premiums.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort

from quoteflow.registry import Registry, RegistryError

log = logging.getLogger(__name__)
OUTPUTS = ("frequency", "severity", "pure_premium", "premium")


class SchemaMismatch(ValueError):
    """Features of another schema version, or of the wrong shape."""


@dataclass
class PricingModel:
    registry: Registry
    name: str
    version: str
    intra_op_threads: int = 1
    ready: bool = False
    failure: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    _session: ort.InferenceSession | None = None

    def load(self) -> None:
        """Verify and load; on any failure stay not-ready and keep the reason."""
        try:
            mv, onnx_bytes = self.registry.load(self.name, self.version)
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = self.intra_op_threads
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = ort.InferenceSession(onnx_bytes, opts, providers=["CPUExecutionProvider"])
            names = {o.name for o in session.get_outputs()}
            missing = [o for o in OUTPUTS if o not in names]
            if missing or [i.name for i in session.get_inputs()] != ["features"]:
                raise RegistryError(f"{mv.onnx_path}: artifact does not follow the contract "
                                    f"(input 'features'; outputs {', '.join(OUTPUTS)}); "
                                    f"missing outputs: {missing}")
            self.metadata = mv.metadata
            self._session = session
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
                                       "sha256": self.sha256})

    def _warm_up(self) -> None:
        # Rows at the middle of each reference histogram: realistic, finite inputs.
        n = len(self.feature_names)
        x = np.zeros((8, n), dtype=np.float32)
        hist = self.metadata.get("reference_histograms", {})
        for j, fname in enumerate(self.feature_names):
            edges = hist.get(fname, {}).get("edges")
            if edges:
                x[:, j] = edges[len(edges) // 2]
        for _ in range(20):
            out = self.run(x)
        if not np.all(np.isfinite(out["premium"])) or np.any(out["premium"] <= 0):
            raise ValueError("warm-up produced non-finite or non-positive premiums")

    @property
    def feature_names(self) -> list[str]:
        return list(self.metadata["feature_names"])

    @property
    def schema_version(self) -> str:
        return str(self.metadata["feature_schema_version"])

    @property
    def sha256(self) -> str:
        return str(self.metadata.get("onnx_sha256", ""))

    @property
    def pricing(self) -> dict[str, Any]:
        return dict(self.metadata["pricing"])

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
        """Raw graph outputs, each flattened to one float64 value per row."""
        assert self._session is not None
        values = self._session.run(list(OUTPUTS), {"features": x})
        return {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in zip(OUTPUTS, values,
                                                                                strict=True)}

    def predictions(self, out: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        p = self.pricing
        base = {"expense_loading": float(p["expense_loading"]),
                "profit_loading": float(p["profit_loading"]),
                "minimum_premium": float(p["minimum_premium"])}
        rows = []
        for i in range(len(out["premium"])):
            premium = float(out["premium"][i])
            rows.append({"premium": premium, "breakdown": {
                "expected_frequency": float(out["frequency"][i]),
                "expected_severity": float(out["severity"][i]),
                "pure_premium": float(out["pure_premium"][i]),
                **base,
                "minimum_applied": premium <= base["minimum_premium"],
            }})
        return rows

    def model_ref(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "sha256": self.sha256}

    def close(self) -> None:
        self._session = None
        self.ready = False
