"""The bodies each benchmark target receives, all from the same customers.

The requests are the product's own examples (``Product.example_requests``). The chain
gets quote requests; the inference hop, nginx and BentoML get the feature
vectors preprocess derives from those same requests, so every row prices the
same work. Bodies are JSON text, built once (load generators only cycle them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from quoteflow import products
from quoteflow.preprocess.derive import Derived, derive
from quoteflow.products.base import Product

# In a quote body's customer key, replaced by the load generators with a number unique to
# the request: the ledger honours a re-quote of the same request by the same customer
# without pricing it again, and a benchmark of the chain must price every quote
UNIQUE = "@@"


@dataclass(frozen=True)
class Request:
    body: str
    key: str  # customer key, sent as X-Customer-Key (nginx split_clients hashes it)


@dataclass(frozen=True)
class Workload:
    quotes: list[Request]
    predicts: list[Request]
    bento: list[Request]


def requests(product: Product, n: int, seed: int) -> list[tuple[dict[str, Any], str]]:
    """(body, key) of the product's ``n`` example requests: the key is the body's sticky
    field (a customer, a claim), or a number of its own for an anonymous client."""
    return [(body, str(body.get(product.sticky_field) or f"anon-{i}"))
            for i, body in enumerate(product.example_requests(n, seed))]


def triage(n: int = 2000, seed: int = 11) -> list[Request]:
    """Claims for the triage chain, the claims product's examples. Triage keeps no ledger:
    a repeated claim is triaged again."""
    return [Request(orjson.dumps(body).decode(), key)
            for body, key in requests(products.get("claims"), n, seed)]


def build(n: int = 2000, seed: int = 11) -> Workload:
    motor = products.get("motor")  # the benchmark prices motor quotes
    at = dt.datetime.now(dt.UTC).date()
    quotes, predicts, bento = [], [], []
    for q, key in requests(motor, n, seed):
        outcome = derive(motor, orjson.dumps(q), at)
        assert isinstance(outcome, Derived), outcome  # the examples are valid requests
        f = outcome.body
        if motor.sticky_field in q:
            q = {**q, motor.sticky_field: f"{q[motor.sticky_field]}-{UNIQUE}"}
        quotes.append(Request(orjson.dumps(q).decode(), key))
        predicts.append(Request(orjson.dumps({"schema_version": f["schema_version"],
                                              "features": [f["features"]]}).decode(), key))
        bento.append(Request(orjson.dumps({"features": [f["features"]]}).decode(), key))
    return Workload(quotes, predicts, bento)
