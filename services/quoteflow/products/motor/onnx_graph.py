"""The artifact's graph: the frequency model, its explanation and the pricing arithmetic.

Contract (model_io.py): one input ``features`` (float32, [None, N_FEATURES]); outputs
``frequency``, ``base_frequency``, ``attritional_severity``, ``large_loss_severity``,
``severity`` (their sum), ``pure_premium``, ``premium`` (float64, [None, 1]) and
``factor_effects`` (float64, [None, len(RATING_FACTORS)]). The graph scores each row
K + 1 times (explain.py): from the reference risk, moving one rating factor at a time
to the quote's value; the last score is the frequency, the first the base, the ratios
the factors' effects. The GLM is scored in float64 by our own nodes (its effects are
then its exact relativities); the boosted model by skl2onnx's tree ensemble. The
pricing nodes follow, so the artifact alone fixes a vector's price and its explanation.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from quoteflow.products.motor import explain, features
from quoteflow.products.motor.model_io import INPUT, OUTPUTS, WIDE_OUTPUTS
from quoteflow.products.motor.pricing import PricingConfig
from quoteflow.products.motor.training.frequency import FrequencyModel, ModelType
from quoteflow.products.motor.training.premiums import SeverityParts

TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
IR_VERSION = 8  # what opset 17 needs; onnxruntime reads it
STACKED = "stacked_features"  # the K + 1 variants of every row, one block per variant
VARIANT_BLOCK = 8  # variants a row is scored in: a whole number of SIMD blocks


def convert_frequency(model: FrequencyModel, input_name: str = INPUT) -> onnx.ModelProto:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    types = [(input_name, FloatTensorType([None, features.N_FEATURES]))]
    onx: onnx.ModelProto = convert_sklearn(model, initial_types=types, target_opset=TARGET_OPSET)
    if len(onx.graph.output) != 1:
        raise ValueError(f"expected one output from skl2onnx, got {len(onx.graph.output)}")
    return onx


def _const(g: onnx.GraphProto, name: str, value: np.ndarray) -> str:
    g.initializer.append(numpy_helper.from_array(value, name=name))
    return name


def _scorer(model: FrequencyModel, model_type: ModelType) -> onnx.ModelProto:
    """A model whose nodes turn STACKED (float32) into ``stacked_frequency`` (float64)."""
    if model_type == "hist_gradient_boosting":
        onx = convert_frequency(model, STACKED)
        del onx.graph.input[:]
        raw = onx.graph.output[0].name
        del onx.graph.output[:]
        # skl2onnx emits the raw log-scale score of a Poisson HGB: add the inverse link.
        onx.graph.node.extend([
            helper.make_node("Exp", [raw], ["stacked_f32"], name="poisson_link"),
            helper.make_node("Cast", ["stacked_f32"], ["stacked_frequency"],
                             to=TensorProto.DOUBLE)])
        return onx
    g = helper.make_graph([], "glm", [], [])
    coef = np.asarray(model.coef_, dtype=np.float64).reshape(-1, 1)
    intercept = np.array([[float(model.intercept_)]], dtype=np.float64)
    g.node.extend([
        # the same float32 -> float64 cast as scikit-learn's predict on our input
        helper.make_node("Cast", [STACKED], ["stacked_f64"], to=TensorProto.DOUBLE),
        helper.make_node("MatMul", ["stacked_f64", _const(g, "glm_coef", coef)], ["eta0"]),
        helper.make_node("Add", ["eta0", _const(g, "glm_intercept", intercept)], ["eta"]),
        helper.make_node("Exp", ["eta"], ["stacked_frequency"], name="log_link"),
    ])
    return helper.make_model(g, opset_imports=[helper.make_opsetid(d, v)
                                               for d, v in TARGET_OPSET.items()],
                             ir_version=IR_VERSION, producer_name="quoteflow")


def padded_masks() -> np.ndarray:
    """explain.moved_masks, padded with copies of the last (every factor moved) to a
    multiple of VARIANT_BLOCK rows: the float64 Exp runs SIMD over whole blocks and a
    scalar loop on a ragged tail, whose last bits differ, and a row's price must not
    depend on the batch it is scored in (tests/unit/batch/test_batch_invariance.py)."""
    masks = explain.moved_masks()
    pad = -len(masks) % VARIANT_BLOCK
    return np.concatenate([masks, np.repeat(masks[-1:], pad, axis=0)])


def _variants(g: onnx.GraphProto) -> None:
    """STACKED = the variants of ``features`` (padded_masks), block by block: one
    broadcast Where over (variants, rows, features), then flattened to rows."""
    masks = padded_masks()
    m = _const(g, "moved_masks", masks.reshape(len(masks), 1, -1))
    ref = _const(g, "reference_row", explain.reference_row().reshape(1, 1, -1))
    axes = _const(g, "leading_axis", np.array([0], dtype=np.int64))
    flat = _const(g, "rows_by_features", np.array([-1, features.N_FEATURES], dtype=np.int64))
    g.node.extend([
        helper.make_node("Unsqueeze", [INPUT, axes], ["features_1nf"]),
        helper.make_node("Where", [m, "features_1nf", ref], ["variants_knf"]),
        helper.make_node("Reshape", ["variants_knf", flat], [STACKED]),
    ])


def _explanation(g: onnx.GraphProto) -> None:
    """frequency, base_frequency and factor_effects from ``stacked_frequency``."""
    k = len(explain.RATING_FACTORS)
    pad = len(padded_masks()) - (k + 1)
    shape = _const(g, "variants_by_rows", np.array([k + 1 + pad, -1], dtype=np.int64))
    first = _const(g, "split_first", np.array([1, k, pad], dtype=np.int64))
    last = _const(g, "split_last", np.array([k, 1, pad], dtype=np.int64))
    g.node.extend([
        helper.make_node("Reshape", ["stacked_frequency", shape], ["by_variant"]),
        helper.make_node("Transpose", ["by_variant"], ["by_row"], perm=[1, 0]),
        # two Splits rather than four Slices: each node costs microseconds at batch=1
        helper.make_node("Split", ["by_row", first], ["base_frequency", "moved", "pad_a"],
                         axis=1),
        helper.make_node("Split", ["by_row", last], ["before", "frequency", "pad_b"],
                         axis=1),
        helper.make_node("Div", ["moved", "before"], ["factor_effects"]),
    ])


def _pricing(g: onnx.GraphProto, severity: SeverityParts, pricing: PricingConfig) -> None:
    consts = {
        "attritional_per_claim": severity.attritional,
        "large_loss_per_claim": severity.large_loss,
        "loading_factor": pricing.loading_factor,
        "minimum_premium": pricing.minimum_premium,
    }
    for name, v in consts.items():
        _const(g, name, np.array([[v]], dtype=np.float64))
    g.node.extend([
        helper.make_node("Shape", ["frequency"], ["rows_shape"]),
        helper.make_node("Expand", ["attritional_per_claim", "rows_shape"],
                         ["attritional_severity"]),
        helper.make_node("Expand", ["large_loss_per_claim", "rows_shape"],
                         ["large_loss_severity"]),
        helper.make_node("Add", ["attritional_severity", "large_loss_severity"], ["severity"]),
        helper.make_node("Mul", ["frequency", "severity"], ["pure_premium"]),
        helper.make_node("Mul", ["pure_premium", "loading_factor"], ["loaded_premium"]),
        helper.make_node("Max", ["loaded_premium", "minimum_premium"], ["premium"]),
    ])


def build(model: FrequencyModel, model_type: ModelType, severity: SeverityParts,
          pricing: PricingConfig, doc: dict[str, str] | None = None) -> bytes:
    """Serialized ONNX model with the explanation and the pricing arithmetic inside."""
    onx = _scorer(model, model_type)
    g = onx.graph
    g.name = f"quoteflow_{model_type}"  # skl2onnx names it with a random uuid4: bytes differ
    scoring = list(g.node)
    del g.node[:]
    _variants(g)
    g.node.extend(scoring)
    _explanation(g)
    _pricing(g, severity, pricing)
    g.input.append(helper.make_tensor_value_info(INPUT, TensorProto.FLOAT,
                                                 [None, features.N_FEATURES]))
    g.output.extend(helper.make_tensor_value_info(name, TensorProto.DOUBLE,
                                                  [None, WIDE_OUTPUTS.get(name, 1)])
                    for name in OUTPUTS)
    for key, value in (doc or {}).items():
        onx.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.checker.check_model(onx, full_check=True)
    data: bytes = onx.SerializeToString()  # protobuf has no type information here
    return data


def run(onnx_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """All the outputs for float32 rows ``x``: one-column outputs flattened."""
    import onnxruntime as ort

    sess = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    values = sess.run(list(OUTPUTS), {INPUT: np.asarray(x, dtype=np.float32)})
    return {k: np.asarray(v) if k in WIDE_OUTPUTS else np.asarray(v).reshape(-1)
            for k, v in zip(OUTPUTS, values, strict=True)}


EXPLANATION_NODES = ("features_1nf", "variants_knf", STACKED, "by_variant", "by_row",
                     "base_frequency", "before", "factor_effects", "pad_a", "pad_b")


def without_explanation(onnx_bytes: bytes) -> bytes:
    """The same artifact scoring each row once, with no explanation outputs: what the
    explanation costs is the difference (the bench's in-process row measures it)."""
    onx = onnx.load_from_string(onnx_bytes)
    g = onx.graph
    keep = [n for n in g.node if not set(n.output) & set(EXPLANATION_NODES)]
    for node in keep:
        node.input[:] = [INPUT if i == STACKED else i for i in node.input]
    shape = _const(g, "rows_by_one", np.array([-1, 1], dtype=np.int64))
    at = next(i for i, n in enumerate(keep) if "stacked_frequency" in n.output) + 1
    keep.insert(at, helper.make_node("Reshape", ["stacked_frequency", shape], ["frequency"]))
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in keep for i in n.input}
    inits = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(inits)
    outputs = [o for o in g.output if o.name not in ("base_frequency", "factor_effects")]
    del g.output[:]
    g.output.extend(outputs)
    onnx.checker.check_model(onx, full_check=True)
    data: bytes = onx.SerializeToString()  # protobuf has no type information here
    return data
