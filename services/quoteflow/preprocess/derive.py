"""Quote request -> model features: the logic of the preprocess service (no HTTP here)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jiter
import numpy as np
from pydantic import ValidationError

from quoteflow.contract import QuoteRequest
from quoteflow.features import FEATURE_SCHEMA_VERSION, QuoteColumns, quote_errors, quote_features
from quoteflow.http import validation_errors


class QuoteRejected(Exception):
    """The request cannot be priced; ``errors`` has one entry per bad field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def columns_of(req: QuoteRequest, today: dt.date) -> QuoteColumns:
    def day(d: dt.date) -> np.ndarray:
        return np.array([d], dtype="datetime64[D]")

    return QuoteColumns(
        driver_birth_date=day(req.driver_birth_date),
        vehicle_first_registration_date=day(req.vehicle_first_registration_date),
        quote_date=day(req.quote_date or today),
        vehicle_power=np.array([req.vehicle_power]),
        bonus_malus=np.array([req.bonus_malus]),
        area=np.array([req.area], dtype=object),
        vehicle_brand=np.array([req.vehicle_brand], dtype=object),
    )


def duplicate_keys(body: bytes) -> list[dict[str, Any]]:
    """A key given twice is refused: the JSON parsers keep the last value and would
    drop the other without a word. Other JSON faults are left to pydantic's messages."""
    try:
        jiter.from_json(body, catch_duplicate_keys=True, cache_mode="none")
    except ValueError as e:
        if "duplicate key" in str(e):
            return [{"loc": ["body"], "msg": f"{e}; give each field once",
                     "type": "duplicate_key"}]
    return []


def derive(body: bytes, today: dt.date) -> dict[str, Any]:
    """Validate a quote request (JSON bytes) and derive its features, or raise QuoteRejected."""
    if dupes := duplicate_keys(body):
        raise QuoteRejected(dupes)
    try:
        req = QuoteRequest.model_validate_json(body)
    except ValidationError as e:
        raise QuoteRejected(validation_errors(e)) from e
    cols = columns_of(req, today)
    problems = quote_errors(cols, np.datetime64(today, "D"))
    if problems:
        raise QuoteRejected([{"loc": ["body", field], "msg": msg, "type": "value_error"}
                             for _, field, msg in problems])
    return {
        "schema_version": FEATURE_SCHEMA_VERSION,
        "features": quote_features(cols)[0].tolist(),
        "customer_key": req.customer_key,
        "quote_date": (req.quote_date or today).isoformat(),
    }
