"""metadata.json content: data fingerprint, drift reference, library versions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

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


def reference_histograms(x: np.ndarray, feature_names: Sequence[str],
                         edges: Mapping[str, Sequence[float]]
                         ) -> dict[str, dict[str, list[float] | list[int]]]:
    """Counts of the training rows per schema-fixed bin, for each raw feature (drift/PSI).

    ``edges`` is the product's ``reference_edges()``: one entry per raw feature."""
    out: dict[str, dict[str, list[float] | list[int]]] = {}
    for name in edges:
        col = x[:, list(feature_names).index(name)].astype(np.float64)
        counts, _ = np.histogram(col, bins=np.asarray(edges[name], dtype=np.float64))
        out[name] = {"edges": list(edges[name]), "counts": [int(c) for c in counts]}
    return out


def library_versions(libraries: Sequence[str] = LIBRARIES) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for lib in libraries:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return versions
