"""Claim triage as the platform sees it: the ``Product`` built from this package's parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quoteflow.products.base import FieldProblem, Product, ShadowGate
from quoteflow.products.claims import contract, features, generator, model_io, reasons
from quoteflow.products.claims.features import Columns

if TYPE_CHECKING:
    from quoteflow.registry import ModelVersion

_DATES = ("policy_start_date", "incident_date", "report_date")
_COLUMN_TYPES: dict[str, Any] = {
    "claimant_age": np.int64, "line": object, "claimed_amount": np.float64,
    "sum_insured": np.float64, "prior_claims_3y": np.int64, "police_or_medical_report": bool,
    "witnesses": np.int64, "documents_attached": np.int64, "incident_description": object,
}
# metadata keys ``shape`` reads, besides the registry's own
REQUIRED_METADATA = ("decision_rule", "explanation")
HEADLINE = "probability_fraud"


def probabilities_of(outputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(outputs["probabilities"], dtype=np.float64).reshape(-1, len(features.CLASSES))
    return p, np.asarray(outputs["decision"]).reshape(-1).astype(np.int64)


class ClaimsProduct(Product[contract.ClaimRequest, Columns]):
    # Columns by name: in this class body, `features` is the method, not the module
    name = "claims"
    public_path = "/v1/claims/triage"
    summary = "Triage a claim at first notice of loss: valid, fraud or review"
    sticky_field = "claim_reference"
    answer_id_field = None
    request_model = contract.ClaimRequest
    response_model = contract.TriageResponse
    prediction_model = contract.TriagePrediction
    feature_schema_version = features.FEATURE_SCHEMA_VERSION
    feature_names = features.FEATURE_NAMES
    raw_features = features.RAW_FEATURES
    model_io = model_io.MODEL_IO
    shadow_measures = ("agreement", "probability_shift")
    echoed_fields = ("claim_reference",)
    # Green decides as Blue on at least 95% of shadowed claims (agreement is 0 or 1: the
    # bucket (0.99, 1.0] holds the agreeing ones), and moves no class probability by
    # more than 0.1 on more than 10% of them.
    shadow_gates = (
        ShadowGate("agreement", 0.99, 1.0, 0.05, "decided otherwise than Blue"),
        ShadowGate("probability_shift", None, 0.1, 0.10,
                   "moved a class probability by more than 0.1"),
    )
    outcome_gate = "reviewers"  # a live rollout step judged on reviewer decisions too
    # a scoring run summarises (mean, plot, compare_<headline>) the fraud probability
    headline_column = HEADLINE
    headline_bins = (0.0, 1.0, 100, False)  # a probability
    required_metadata = REQUIRED_METADATA
    training_cli = "quoteflow.products.claims.training_cli"  # --labels

    def columns(self, requests: Sequence[contract.ClaimRequest],
                today: dt.date) -> Columns:
        def dates(name: str) -> np.ndarray:
            return np.array([getattr(r, name) or today for r in requests], dtype="datetime64[D]")

        cols = {k: np.array([getattr(r, k) for r in requests], dtype=t)
                for k, t in _COLUMN_TYPES.items()}
        return Columns(**cols, **{d: dates(d) for d in _DATES})

    def errors(self, columns: Columns, today: dt.date) -> list[FieldProblem]:
        return features.errors(columns, today)

    def features(self, columns: Columns) -> np.ndarray:
        return features.features(columns)

    def context(self, request: contract.ClaimRequest, today: dt.date) -> dict[str, Any]:
        req = request
        return {"claim_reference": req.claim_reference, "line": req.line,
                "report_date": (req.report_date or today).isoformat()}

    def reference_edges(self) -> dict[str, list[float]]:
        return features.reference_edges()

    def shape(self, outputs: dict[str, np.ndarray], x: np.ndarray,
              metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One TriagePrediction dict a row: the graph's decision and probabilities, and
        the facts that moved the decision most (reasons.py)."""
        missing = [k for k in REQUIRED_METADATA if k not in metadata]
        if missing:
            raise ValueError(f"claims model metadata lacks {', '.join(missing)}")
        p, d = probabilities_of(outputs)
        why = reasons.reasons(np.asarray(x), p, d, metadata)
        return [{"decision": features.CLASSES[int(d[i])],
                 "probabilities": dict(zip(features.CLASSES, map(float, p[i]), strict=True)),
                 "reasons": why[i]} for i in range(len(d))]

    def headline_label(self, metadata: dict[str, Any]) -> str:
        return "probability of fraud"

    def check_warm_up(self, outputs: dict[str, np.ndarray]) -> str | None:
        p, d = probabilities_of(outputs)
        if not np.all(np.isfinite(p)) or np.any(p < 0) or np.any(p > 1):
            return "probabilities outside [0, 1]"
        if np.any(np.abs(p.sum(axis=1) - 1) > 1e-4):
            return "probabilities that do not sum to 1"
        if np.any((d < 0) | (d >= len(features.CLASSES))):
            return f"decisions outside 0..{len(features.CLASSES) - 1}"
        return None

    def compare(self, primary: dict[str, Any], shadow: dict[str, Any]) -> dict[str, float]:
        """agreement: 1.0 when both decide alike; probability_shift: the largest absolute
        difference between the two answers' class probabilities."""
        shift = max(abs(float(primary["probabilities"][c]) - float(shadow["probabilities"][c]))
                    for c in features.CLASSES)
        return {"agreement": float(primary["decision"] == shadow["decision"]),
                "probability_shift": shift}

    def batch_columns(self, columns: Columns, outputs: dict[str, np.ndarray],
                      x: np.ndarray,
                      metadata: dict[str, Any]) -> dict[str, Any]:
        from quoteflow.products.claims import batch

        rows = self.shape(outputs, x, metadata)
        return batch.scored_columns(outputs, [r["reasons"] for r in rows])

    def example_requests(self, n: int, seed: int) -> list[dict[str, Any]]:
        today = dt.datetime.now(dt.UTC).date()
        return generator.generate(n, seed, as_of=today).requests(range(n))

    def train_and_register(self, registry_dir: Path | str,
                           **options: Any) -> list[ModelVersion]:
        from quoteflow.products.claims.training import train_and_register  # training extra

        return train_and_register(registry_dir, **options)
