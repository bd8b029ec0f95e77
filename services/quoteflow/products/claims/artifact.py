"""What a claims model version stores: metadata.json content and the files beside it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from quoteflow.products.claims import decision, explain, generator, model_io, report, reviewed
from quoteflow.products.claims import features as F
from quoteflow.training import artifact as shared

if TYPE_CHECKING:
    from quoteflow.products.claims.training import Prepared, Trained

LIBRARIES = ("quoteflow", "numpy", "scikit-learn", "skl2onnx", "onnx", "onnxruntime",
             "protobuf")


def metadata(tm: Trained, data: Prepared, bayes: dict[str, Any],
             comparison: dict[str, Any]) -> dict[str, Any]:
    return {
        "product": "claims",
        "model_type": tm.model_type,
        "feature_schema_version": F.FEATURE_SCHEMA_VERSION,
        "feature_names": list(F.FEATURE_NAMES),
        "classes": list(F.CLASSES),
        "training_data_sha256": data.sample.fingerprint(),
        "training_data": {
            "source": "quoteflow.products.claims.generator (synthetic, seeded)",
            "generator_version": generator.GENERATOR_VERSION, "seed": data.seed,
            "as_of": data.sample.as_of.isoformat(), "rows": len(data.sample),
            "class_shares": {c: float(np.mean(data.y == k)) for k, c in enumerate(F.CLASSES)},
            "sha256_definition": "ClaimsSample.fingerprint: every column, labels, true "
                                 "probabilities"},
        "split": {"train_rows": len(data.train), "validation_rows": len(data.validation),
                  "test_rows": len(data.test), "seed": data.seed},
        "params": tm.params,
        "metrics": {"test": tm.test, "bayes_optimal_test": bayes, "comparison": comparison,
                    "onnx_parity": tm.parity},
        "decision_rule": decision.rule_metadata(data.config, tm.weights),
        "explanation": tm.explanation,
        "reference_histograms": shared.reference_histograms(
            data.x[data.train], F.FEATURE_NAMES, F.reference_edges()),
        "library_versions": shared.library_versions(LIBRARIES),
        "seed": data.seed,
        "onnx": {"input": model_io.INPUT, "outputs": list(model_io.OUTPUTS)},
    }


def contents(tm: Trained, data: Prepared, bayes: dict[str, Any], comparison: dict[str, Any],
             current: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(metadata, extra files) of one version: the report and every model's plots.
    ``current``: with --labels, the current version's figures on the held-out claims."""
    meta = metadata(tm, data, bayes, comparison)
    if data.reviewed is not None and tm.reviewed is not None and current is not None:
        reviewed.add_to_metadata(meta, data.reviewed, tm.reviewed, current)
    text = report.render(meta, tm, explain.METHOD)
    return meta, {"report.md": text.encode(), **tm.plots}
