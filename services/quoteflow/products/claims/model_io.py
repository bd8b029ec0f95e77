"""Claim triage's ONNX contract and the graph that fulfils it.

Input ``features`` float32 [None, N_FEATURES]; outputs ``probabilities`` float32
[None, 3] (CLASSES order) and ``decision`` int64 [None] (index into CLASSES). The
decision rule (decision.py: class weights and cost matrix, ArgMin) is appended to the
skl2onnx classifier graph, so the artifact alone fixes a claim's decision. onnx and
skl2onnx are imported inside the functions: serving imports this module for MODEL_IO.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from quoteflow.products.base import ModelIO, TensorSpec
from quoteflow.products.claims.features import CLASSES, N_FEATURES

INPUT = "features"
OUTPUTS = ("probabilities", "decision")
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}

MODEL_IO = ModelIO(
    input=TensorSpec(INPUT, "float32", N_FEATURES),
    outputs=(TensorSpec("probabilities", "float32", len(CLASSES)),
             TensorSpec("decision", "int64", None)),
)


def build(model: Any, weights: np.ndarray, cost: np.ndarray,
          doc: dict[str, str] | None = None) -> bytes:
    """Serialized ONNX: the fitted scikit-learn classifier plus the decision rule."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    if list(model.classes_) != list(range(len(CLASSES))):
        raise ValueError(f"classifier classes {list(model.classes_)} are not 0..{len(CLASSES)-1}")
    onx = convert_sklearn(model, initial_types=[(INPUT, FloatTensorType([None, N_FEATURES]))],
                          target_opset=TARGET_OPSET, options={id(model): {"zipmap": False}})
    g = onx.graph
    g.name = "claims_triage"  # skl2onnx names the graph with a random uuid: same bytes
    probs = next(o.name for o in g.output if o.name != "label")
    del g.output[:]
    g.initializer.extend([
        numpy_helper.from_array(np.asarray(weights, dtype=np.float32).reshape(1, -1),
                                "class_weights"),
        numpy_helper.from_array(np.asarray(cost, dtype=np.float32), "cost_matrix"),
    ])
    if probs != "probabilities":
        g.node.append(helper.make_node("Identity", [probs], ["probabilities"]))
    g.node.extend([
        helper.make_node("Mul", ["probabilities", "class_weights"], ["weighted"]),
        helper.make_node("MatMul", ["weighted", "cost_matrix"], ["decision_cost"]),
        helper.make_node("ArgMin", ["decision_cost"], ["decision"], axis=1, keepdims=0),
    ])
    g.output.extend([
        helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, len(CLASSES)]),
        helper.make_tensor_value_info("decision", TensorProto.INT64, [None]),
    ])
    # the classifier's own label output is dropped: its nodes are left dangling otherwise
    _prune(onx)
    for key, value in (doc or {}).items():
        onx.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(onx, full_check=True)
    data: bytes = onx.SerializeToString()  # protobuf has no type information here
    return data


def _prune(onx: Any) -> None:
    """Drop nodes no graph output depends on."""
    g = onx.graph
    needed = {o.name for o in g.output}
    keep = []
    for node in reversed(list(g.node)):
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(node.input)
    del g.node[:]
    g.node.extend(reversed(keep))
    inits = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)


def run(onnx_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Both outputs for float32 rows ``x`` (probabilities (n, 3), decision (n,))."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    values = sess.run(list(OUTPUTS), {INPUT: np.asarray(x, dtype=np.float32)})
    return dict(zip(OUTPUTS, (np.asarray(v) for v in values), strict=True))
