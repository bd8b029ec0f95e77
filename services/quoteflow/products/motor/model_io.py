"""Motor pricing's ONNX contract: one float32 feature matrix in, six float64 columns out.

The pricing arithmetic (frequency x (attritional + large-loss severity) x loadings,
minimum premium) is inside the graph (onnx_graph.py), so the artifact alone fixes a
vector's price; this module only names the tensors, and is importable without onnx or
onnxruntime.
"""

from __future__ import annotations

from quoteflow.products.base import ModelIO, TensorSpec
from quoteflow.products.motor.features import N_FEATURES

INPUT = "features"
OUTPUTS = ("frequency", "attritional_severity", "large_loss_severity", "severity",
           "pure_premium", "premium")

MODEL_IO = ModelIO(
    input=TensorSpec(INPUT, "float32", N_FEATURES),
    outputs=tuple(TensorSpec(name, "float64", 1) for name in OUTPUTS),
)
