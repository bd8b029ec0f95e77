"""Motor pricing as the platform sees it: the ``Product`` built from this package's parts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quoteflow.actuarial.guardrails import RULES
from quoteflow.products.base import (
    FastPath,
    FieldProblem,
    Product,
    Quoted,
    RowDerivation,
    ShadowGate,
)
from quoteflow.products.motor import (
    contract,
    features,
    features_one,
    model_io,
    requests,
    shaping,
)
from quoteflow.products.motor.features import QuoteColumns

if TYPE_CHECKING:
    from quoteflow.registry import ModelVersion

class MotorProduct(Product[contract.QuoteRequest, QuoteColumns]):
    # QuoteColumns by name: in this class body, `features` is the method, not the module
    name = "motor"
    public_path = "/v1/quote"
    summary = "Price a motor insurance quote"
    sticky_field = "customer_key"
    answer_id_field = "quote_id"
    training_cli = "quoteflow.products.motor.training.cli"
    request_model = contract.QuoteRequest
    response_model = contract.QuoteResponse
    prediction_model = contract.Prediction
    feature_schema_version = features.FEATURE_SCHEMA_VERSION
    feature_names = features.FEATURE_NAMES
    raw_features = features.RAW_FEATURES
    model_io = model_io.MODEL_IO
    shadow_measures = ("premium_ratio",)
    # Green's premium within 10% of Blue's on at least 95% of shadowed quotes
    shadow_gates = (ShadowGate("premium_ratio", 0.9, 1.1, 0.05, "moved by more than 10%"),)
    outcome_gate = "conversion"  # a live rollout step judged on binds per quote too
    headline_column = "premium"
    headline_bins = (1.0, 1e9, 180, True)  # currency units, log-spaced
    required_metadata = ("pricing",)
    renewal_field = "renews"
    guardrail_rules = RULES

    def columns(self, requests: Sequence[contract.QuoteRequest],
                today: dt.date) -> QuoteColumns:
        def days(name: str) -> np.ndarray:
            return np.array([getattr(r, name) or today for r in requests], dtype="datetime64[D]")

        return QuoteColumns(
            driver_birth_date=days("driver_birth_date"),
            vehicle_first_registration_date=days("vehicle_first_registration_date"),
            quote_date=days("quote_date"),
            vehicle_power=np.array([r.vehicle_power for r in requests]),
            bonus_malus=np.array([r.bonus_malus for r in requests]),
            area=np.array([r.area for r in requests], dtype=object),
            vehicle_brand=np.array([r.vehicle_brand for r in requests], dtype=object),
        )

    def errors(self, columns: QuoteColumns, today: dt.date) -> list[FieldProblem]:
        return features.quote_errors(columns, np.datetime64(today, "D"))

    def features(self, columns: QuoteColumns) -> np.ndarray:
        return features.quote_features(columns)

    def derive_one(self, request: contract.QuoteRequest, today: dt.date) -> RowDerivation:
        # plain Python, proved equal to columns/errors/features (features_one's docstring)
        r = request
        row = features_one.derive_quote(
            r.driver_birth_date or today, r.vehicle_first_registration_date or today,
            r.quote_date or today, r.vehicle_power, r.bonus_malus, r.area, r.vehicle_brand,
            today)
        if r.cover_start is None:
            return row
        # the cover start picks the tariff, not a feature: checked on the live path only
        cover = [FieldProblem(0, "cover_start", why) for why in features_one.cover_problems(
            r.cover_start, r.quote_date or today, today)]
        return RowDerivation([*row.problems, *cover], None) if cover else row

    def context(self, request: contract.QuoteRequest, today: dt.date) -> dict[str, Any]:
        req = request
        # the cover start picks the quote's tariff (traffic.tariffs); default its date
        return {"cover_start": (req.cover_start or req.quote_date or today).isoformat(),
                "customer_key": req.customer_key,
                "quote_date": (req.quote_date or today).isoformat(), "renews": req.renews}

    def reference_edges(self) -> dict[str, list[float]]:
        return features.reference_edges()

    def shape(self, outputs: dict[str, np.ndarray], x: np.ndarray,
              metadata: dict[str, Any]) -> list[dict[str, Any]]:
        return shaping.predictions(outputs, metadata)

    def headline_label(self, metadata: dict[str, Any]) -> str:
        return f"premium ({metadata['pricing']['currency']}, log scale)"

    def answer_extras(self, metadata: dict[str, Any]) -> dict[str, Any]:
        return {"currency": str(metadata["pricing"]["currency"]),
                "validity_days": float(metadata.get("quotes", {}).get("validity_days", 30)),
                "guardrails": shaping.guardrails(metadata).as_metadata()}

    def renew(self, prediction: dict[str, Any], prior: Decimal,
              answer: dict[str, Any]) -> dict[str, Any]:
        return shaping.renewed(prediction, prior, answer["guardrails"])

    def rules_fired(self, prediction: dict[str, Any]) -> list[str]:
        return [r["rule"] for r in prediction["breakdown"]["guardrails"]["rules"]]

    def quoted(self, prediction: dict[str, Any], answer: dict[str, Any]) -> Quoted:
        # the premium is already rounded to the unit (shaping.money): its repr is exact
        return Quoted(Decimal(repr(float(prediction["premium"]))), str(prediction["currency"]),
                      dict(prediction["breakdown"]), float(answer.get("validity_days", 30)))

    def check_warm_up(self, outputs: dict[str, np.ndarray]) -> str | None:
        return shaping.warm_up_problem(outputs)

    def compare(self, primary: dict[str, Any], shadow: dict[str, Any]) -> dict[str, float]:
        return shaping.compare(primary, shadow)

    def batch_fast_path(self, chunk: Any, csv: bool,
                        default_date: dt.date) -> FastPath[QuoteColumns]:
        from quoteflow.products.motor import batch  # pyarrow: the batch extra only

        return batch.fast_path(chunk, csv, default_date)

    def batch_columns(self, columns: QuoteColumns, outputs: dict[str, np.ndarray],
                      x: np.ndarray,
                      metadata: dict[str, Any]) -> dict[str, Any]:
        from quoteflow.products.motor import batch

        return batch.scored_columns(columns, outputs, metadata)

    def segments(self, book: Any, quote_dates: Any) -> dict[str, np.ndarray]:
        from quoteflow.products.motor import segments

        return segments.segments(book, quote_dates)

    def dislocation_limits(self, metadata: dict[str, Any]) -> dict[str, float]:
        return dict(metadata.get("pricing", {}).get("dislocation_limits", {}))

    def plain_graph(self, onnx_bytes: bytes) -> bytes:
        from quoteflow.products.motor import onnx_graph  # onnx: not on the serving path

        return onnx_graph.without_explanation(onnx_bytes)

    def example_requests(self, n: int, seed: int) -> list[dict[str, Any]]:
        pool = requests.CustomerPool(seed=seed)
        return [pool.quote() for _ in range(n)]

    def train_and_register(self, registry_dir: Path | str,
                           **options: Any) -> list[ModelVersion]:
        from quoteflow.products.motor.training.pipeline import (
            train_and_register,  # training extra only
        )

        return train_and_register(registry_dir, **options)
