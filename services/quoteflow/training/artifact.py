"""metadata.json content: data fingerprint, drift reference, library versions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path

import numpy as np

from quoteflow.products.motor import features

LIBRARIES = ("quoteflow", "numpy", "scipy", "scikit-learn", "pandas", "skl2onnx", "onnx",
             "onnxruntime", "protobuf")


def data_fingerprint(files: list[Path]) -> tuple[str, dict[str, str]]:
    """sha256 over the files' bytes, concatenated in the given order, and one per file."""
    total = hashlib.sha256()
    each: dict[str, str] = {}
    for path in files:
        data = path.read_bytes()
        total.update(data)
        each[path.name] = hashlib.sha256(data).hexdigest()
    return total.hexdigest(), each


def reference_histograms(x: np.ndarray) -> dict[str, dict[str, list[float] | list[int]]]:
    """Counts of the training rows per schema-fixed bin, for each raw feature (drift/PSI)."""
    edges = features.reference_edges()
    out: dict[str, dict[str, list[float] | list[int]]] = {}
    for name in features.RAW_FEATURES:
        col = x[:, features.FEATURE_NAMES.index(name)].astype(np.float64)
        counts, _ = np.histogram(col, bins=np.asarray(edges[name], dtype=np.float64))
        out[name] = {"edges": list(edges[name]), "counts": [int(c) for c in counts]}
    return out


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions
