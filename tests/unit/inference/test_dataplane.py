"""inference's dataplane in process: outcomes for good, malformed and foreign requests."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest

from quoteflow.inference.dataplane import Dataplane, NotReady, Predicted, Refused
from quoteflow.inference.model import OnnxModel
from quoteflow.products.motor import features
from quoteflow.registry import Registry


@pytest.fixture(scope="module")
def plane(trained_registry: Path) -> Dataplane:
    p = Dataplane(OnnxModel(Registry(trained_registry), "motor", "1"), 100, 1000)
    p.start()
    return p


def body(rows: list[list[float]], version: str = features.FEATURE_SCHEMA_VERSION) -> bytes:
    return orjson.dumps({"schema_version": version, "features": rows})


def test_prices_rows_with_the_products_shaping(plane: Dataplane) -> None:
    x = [[35, 3, 6, 50, 3] + [0.0] * (features.N_FEATURES - 5)] * 2
    out = plane.predict(body(x))
    assert isinstance(out, Predicted)
    assert out.body["model"]["version"] == "1" and out.body["currency"] == "EUR"
    rows = out.body["predictions"]
    assert len(rows) == 2 and rows[0] == rows[1]
    b = rows[0]["breakdown"]
    # the graph's arithmetic, shown in the breakdown, gives the premium, rounded to the
    # cent (half a cent at most away)
    assert rows[0]["premium"] == pytest.approx(
        max(b["minimum_premium"], b["pure_premium"] * (1 + b["expense_loading"]
                                                       + b["profit_loading"])), abs=0.005)
    assert plane.readiness() == (True, {"model": "motor", "version": "1",
                                        "sha256": plane.model.sha256, "product": "motor"})


@pytest.mark.parametrize(("raw", "status", "kind"), [
    (b"{", 422, "json_invalid"),
    (orjson.dumps({"features": [[1.0]]}), 422, "value_error"),
    (orjson.dumps({"schema_version": "1", "features": [["1.5"]]}), 422, "float_type"),
    (b'{"schema_version": "1", "features": [[1e39]]}', 422, "finite_number"),
    (body([[0.0] * features.N_FEATURES], version="0"), 409, "schema_mismatch"),
    (body([[0.0] * 3]), 409, "schema_mismatch"),
])
def test_refusals_name_the_problem(plane: Dataplane, raw: bytes, status: int, kind: str) -> None:
    out = plane.predict(raw)
    assert isinstance(out, Refused) and out.status == status
    assert out.errors[0]["type"] == kind and out.errors[0]["msg"]


def test_features_that_overflow_the_model_are_refused_not_a_500(plane: Dataplane) -> None:
    """Schemathesis found it: finite float32 features far outside training make the
    graph's premium infinite; that is the caller's input, refused with a 422."""
    row = [0.5] + [0.0] * (features.N_FEATURES - 5) + [3.4e16, 3.4e38, 2e-117, 2.2e-308]
    out = plane.predict(body([row]))
    assert isinstance(out, Refused) and out.status == 422, out
    assert out.errors[0]["type"] == "out_of_domain"
    assert "far outside" in out.errors[0]["msg"]


def test_too_many_rows_are_refused(plane: Dataplane) -> None:
    out = plane.predict(body([[0.0] * features.N_FEATURES] * 101))
    assert isinstance(out, Refused) and "1 to 100 rows" in out.errors[0]["msg"]


def test_a_tampered_model_is_alive_but_not_ready(trained_registry: Path, tmp_path: Path) -> None:
    root = tmp_path / "registry"
    shutil.copytree(trained_registry, root)
    onnx = root / "motor" / "1" / "model.onnx"
    onnx.chmod(0o644)
    data = bytearray(onnx.read_bytes())
    data[100] ^= 0xFF
    onnx.write_bytes(bytes(data))
    p = Dataplane(OnnxModel(Registry(root), "motor", "1"), 100, 1000)
    p.start()
    out = p.predict(body([[0.0] * features.N_FEATURES]))
    assert isinstance(out, NotReady) and "sha256" in out.reason
    ready, detail = p.readiness()
    assert not ready and "sha256" in detail["reason"]


def test_drift_window_sees_the_raw_columns(plane: Dataplane) -> None:
    assert plane.drift is not None and plane.drift.features == features.RAW_FEATURES
    before = plane.drift.rows
    plane.predict(body(np.zeros((3, features.N_FEATURES)).tolist()))
    assert plane.drift.rows == min(before + 3, plane.drift.window)


def test_a_scheduled_tariffs_version_is_served_by_name(trained_registry: Path) -> None:
    reg = Registry(trained_registry)
    p = Dataplane(OnnxModel(reg, "motor", "1"), 100, 1000, [OnnxModel(reg, "motor", "2")])
    p.start()
    ready, detail = p.readiness()
    assert ready and detail["versions"] == ["1", "2"] and detail["version"] == "1"
    x = [[35, 3, 6, 50, 3] + [0.0] * (features.N_FEATURES - 5)]
    named = orjson.dumps({"schema_version": features.FEATURE_SCHEMA_VERSION, "features": x,
                          "model_version": "2"})
    out, default = p.predict(named), p.predict(body(x))
    assert isinstance(out, Predicted) and out.body["model"]["version"] == "2"
    assert isinstance(default, Predicted) and default.body["model"]["version"] == "1"
    other = p.predict(named.replace(b'"2"', b'"9"'))
    assert isinstance(other, Refused) and other.status == 409
    assert "version 9 is not served here (pinned: 1, 2" in other.errors[0]["msg"]
    missing = Dataplane(OnnxModel(reg, "motor", "1"), 100, 1000, [OnnxModel(reg, "motor", "77")])
    missing.start()
    ready, detail = missing.readiness()
    assert not ready and detail["reason"].startswith("version 77: ")
    p.close()
    missing.close()
