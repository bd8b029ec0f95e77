"""Same data, config and seed: the same model.onnx bytes, whatever process, folder or
time trained it. A model version's identity (its sha256) is its content, not its date."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import onnx

from quoteflow.registry import ModelVersion

TRAIN = ("import sys; from quoteflow.products.motor.training.pipeline import train_and_register; "
         "train_and_register(sys.argv[1])")


def test_training_twice_gives_the_same_onnx_bytes(real_versions: list[ModelVersion],
                                                  tmp_path: Path) -> None:
    # another process, another working folder, another hash seed, a later clock
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", TRAIN, str(tmp_path / "registry")], cwd=work,
                   env=env, check=True, capture_output=True, timeout=300)
    for mv in real_versions:
        again = tmp_path / "registry" / mv.name / mv.version
        first_bytes = (mv.path / "model.onnx").read_bytes()
        assert (again / "model.onnx").read_bytes() == first_bytes, mv.version
        meta_a = mv.metadata
        meta_b = json.loads((again / "metadata.json").read_text())
        assert meta_b["onnx_sha256"] == meta_a["onnx_sha256"]
        assert meta_b["created_at"] != meta_a["created_at"]  # the time lives here only
        # and the fits behind the bytes: the severity chosen, its parameters, the GLM
        assert {k: v for k, v in meta_b.items() if k != "created_at"} == {
            k: v for k, v in meta_a.items() if k != "created_at"}
        graph = onnx.load_from_string(first_bytes)
        assert graph.graph.name == f"quoteflow_{meta_a['model_type']}"
        assert str(mv.path.parent.parent).encode() not in first_bytes  # no paths inside
        assert {p.key for p in graph.metadata_props} == {"feature_schema_version",
                                                         "model_type"}
