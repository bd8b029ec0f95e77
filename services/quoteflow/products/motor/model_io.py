"""Motor pricing's ONNX contract: one float32 feature matrix in, float64 columns out.

The pricing arithmetic (frequency x (attritional + large-loss severity) x loadings,
minimum premium) and the per-factor explanation are inside the graph (onnx_graph.py), so
the artifact alone fixes a vector's price and why; this module only names the tensors,
and is importable without onnx or onnxruntime.
"""

from __future__ import annotations

from quoteflow.products.base import ModelIO, TensorSpec
from quoteflow.products.motor.explain import FACTOR_NAMES
from quoteflow.products.motor.features import N_FEATURES

INPUT = "features"
OUTPUTS = ("frequency", "base_frequency", "factor_effects", "attritional_severity",
           "large_loss_severity", "severity", "pure_premium", "premium")
# outputs with more than one value a row: the effect of each rating factor
WIDE_OUTPUTS = {"factor_effects": len(FACTOR_NAMES)}

MODEL_IO = ModelIO(
    input=TensorSpec(INPUT, "float32", N_FEATURES),
    outputs=tuple(TensorSpec(name, "float64", WIDE_OUTPUTS.get(name, 1)) for name in OUTPUTS),
)
