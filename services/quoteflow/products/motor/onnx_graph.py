"""The artifact's graph: the skl2onnx frequency model plus the pricing arithmetic.

Contract (model_io.py): one input ``features`` (float32, [None, N_FEATURES]); outputs
``frequency``, ``attritional_severity``, ``large_loss_severity``, ``severity`` (their
sum), ``pure_premium``, ``premium`` (float64, [None, 1]). The pricing nodes are appended
with onnx.helper so the artifact alone fixes the price of a feature vector.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quoteflow.products.motor import features
from quoteflow.products.motor.model_io import INPUT, OUTPUTS
from quoteflow.products.motor.pricing import PricingConfig
from quoteflow.products.motor.training.frequency import FrequencyModel, ModelType
from quoteflow.products.motor.training.premiums import SeverityParts

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


def convert_frequency(model: FrequencyModel) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    types = [(INPUT, FloatTensorType([None, features.N_FEATURES]))]
    onx = convert_sklearn(model, initial_types=types, target_opset=TARGET_OPSET)
    if len(onx.graph.output) != 1:
        raise ValueError(f"expected one output from skl2onnx, got {len(onx.graph.output)}")
    return onx


def build(model: FrequencyModel, model_type: ModelType, severity: SeverityParts,
          pricing: PricingConfig, doc: dict[str, str] | None = None) -> bytes:
    """Serialized ONNX model with the pricing arithmetic inside."""
    onx = convert_frequency(model)
    g = onx.graph
    g.name = f"quoteflow_{model_type}"  # skl2onnx names it with a random uuid4: bytes differ
    raw = g.output[0].name
    del g.output[:]
    nodes = []
    if model_type == "hist_gradient_boosting":
        # skl2onnx emits the raw log-scale score of a Poisson HGB: add the inverse link.
        nodes.append(helper.make_node("Exp", [raw], ["freq_f32"], name="poisson_link"))
        raw = "freq_f32"
    consts = {
        "attritional_per_claim": np.array([[severity.attritional]], dtype=np.float64),
        "large_loss_per_claim": np.array([[severity.large_loss]], dtype=np.float64),
        "loading_factor": np.array([[pricing.loading_factor]], dtype=np.float64),
        "minimum_premium": np.array([[pricing.minimum_premium]], dtype=np.float64),
    }
    g.initializer.extend(numpy_helper.from_array(v, name=k) for k, v in consts.items())
    nodes += [
        helper.make_node("Cast", [raw], ["freq_f64"], to=TensorProto.DOUBLE),
        helper.make_node("Reshape", ["freq_f64", "col_shape"], ["frequency"]),
        helper.make_node("Shape", ["frequency"], ["rows_shape"]),
        helper.make_node("Expand", ["attritional_per_claim", "rows_shape"],
                         ["attritional_severity"]),
        helper.make_node("Expand", ["large_loss_per_claim", "rows_shape"],
                         ["large_loss_severity"]),
        helper.make_node("Add", ["attritional_severity", "large_loss_severity"], ["severity"]),
        helper.make_node("Mul", ["frequency", "severity"], ["pure_premium"]),
        helper.make_node("Mul", ["pure_premium", "loading_factor"], ["loaded_premium"]),
        helper.make_node("Max", ["loaded_premium", "minimum_premium"], ["premium"]),
    ]
    g.initializer.append(numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "col_shape"))
    g.node.extend(nodes)
    g.output.extend(helper.make_tensor_value_info(name, TensorProto.DOUBLE, [None, 1])
                    for name in OUTPUTS)
    for key, value in (doc or {}).items():
        onx.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(onx, full_check=True)
    return onx.SerializeToString()


def run(onnx_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """All the outputs, flattened, for float32 rows ``x``."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    values = sess.run(list(OUTPUTS), {INPUT: np.asarray(x, dtype=np.float32)})
    return {k: np.asarray(v).reshape(-1) for k, v in zip(OUTPUTS, values, strict=True)}
