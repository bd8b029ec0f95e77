"""Request -> model features: the logic of the preprocess service (no HTTP here).

Product-agnostic: the product gives the request contract, the business rules and the
one feature derivation; this module only orders them and renders their errors.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import jiter
from pydantic import ValidationError

from quoteflow.errors import rule_errors, validation_errors
from quoteflow.products.base import Product


@dataclass(frozen=True)
class Derived:
    """What the router needs: the feature row, its schema, the sticky key, the context."""

    body: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """The request cannot be served; one entry per bad field."""

    errors: list[dict[str, Any]]


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


def derive(product: Product, body: bytes, today: dt.date) -> Derived | Rejected:
    """Validate a request (JSON bytes) and derive its features with the product's module."""
    if dupes := duplicate_keys(body):
        return Rejected(dupes)
    try:
        req = product.request_model.model_validate_json(body)
    except ValidationError as e:
        return Rejected(validation_errors(e))
    row = product.derive_one(req, today)
    if row.problems:
        return Rejected(rule_errors(row.problems))
    context = product.context(req, today)
    return Derived({
        "schema_version": product.feature_schema_version,
        "features": row.features,
        "sticky_key": getattr(req, product.sticky_field, None),
        **context,
    })
