"""Request -> model features: the logic of the preprocess service (no HTTP here).

Product-agnostic: the product gives the request contract, the business rules and the
one feature derivation; this module only orders them and renders their errors.
``Dataplane`` adds what the service observes (metrics, readiness): unit-tested in process
(tests/unit/preprocess).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

import jiter
import orjson
from pydantic import ValidationError

from quoteflow import metrics
from quoteflow.errors import rule_errors, validation_errors
from quoteflow.products.base import Product

log = logging.getLogger(__name__)


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


def contract_fields(product: Product) -> frozenset[str]:
    """The request contract's field names, as the API names them (an alias if set)."""
    return frozenset(f.alias or name for name, f in product.request_model.model_fields.items())


class Dataplane:
    """The service's logic and what it observes: derive, count, warm up, say if ready."""

    def __init__(self, served: list[Product]) -> None:
        self.products = served
        # the `field` label's only values, with "other": a client's invented field
        # names (or a misplaced error) must not become Prometheus series
        self.fields = frozenset[str]().union(*map(contract_fields, served))
        self.ready = False
        self.failure: str | None = None

    def start(self) -> None:
        """Derive each product's documented example requests once; ready only if all pass."""
        today = dt.datetime.now(dt.UTC).date()
        for p in self.products:
            for example in p.request_model.model_json_schema().get("examples", []):
                try:
                    outcome = derive(p, orjson.dumps(example), today)
                    why = outcome.errors[0]["msg"] if isinstance(outcome, Rejected) else None
                except Exception as e:  # reported by /readyz, as a model that fails to load
                    log.exception("warm-up failed", extra={"product": p.name})
                    why = f"{type(e).__name__}: {e}"
                if why is not None:
                    self.failure = f"{p.name} warm-up: {why}"
                    return
        self.ready = True

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        detail: dict[str, Any] = {"products": [p.name for p in self.products]}
        if not self.ready:
            detail["reason"] = self.failure or "warming up"
        return self.ready, detail

    def field_label(self, loc: list[Any]) -> str:
        return loc[1] if len(loc) > 1 and loc[1] in self.fields else "other"

    def features(self, product: Product, body: bytes, start: float) -> Derived | Rejected:
        """``derive`` at today's date, observed; ``start`` is when the request arrived."""
        outcome = derive(product, body, dt.datetime.now(dt.UTC).date())
        if isinstance(outcome, Derived):
            metrics.child(metrics.PREPROCESS_DURATION, "ok").observe(time.perf_counter() - start)
            return outcome
        for err in outcome.errors:
            metrics.child(metrics.PREPROCESS_REJECTIONS, self.field_label(err["loc"])).inc()
        self.refused(start)
        return outcome

    def refused(self, start: float) -> None:
        """Observe a refused request: by derivation, or before it (size, media type)."""
        metrics.child(metrics.PREPROCESS_DURATION, "rejected").observe(time.perf_counter() - start)
