"""The bodies each benchmark target receives, all from the same customers.

The chain gets quote requests; the inference hop, nginx and BentoML get the feature
vectors preprocess derives from those same requests, so every row prices the
same work. Bodies are JSON text, built once (load generators only cycle them).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from quoteflow import products
from quoteflow.bench.traffic import CustomerPool
from quoteflow.preprocess.derive import Derived, derive

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


def triage(n: int = 2000) -> list[Request]:
    """Claims for the triage chain: the contract's example with its own reference (the
    sticky key) and amount. Triage keeps no ledger: a repeated claim is triaged again."""
    from quoteflow.products.claims.contract import CLAIM_EXAMPLE

    out = []
    for i in range(n):
        ref = f"CLM-2026-{i:06d}"
        body = {**CLAIM_EXAMPLE, "claim_reference": ref, "claimed_amount": 500 + (i * 37) % 14000}
        out.append(Request(orjson.dumps(body).decode(), ref))
    return out


def build(n: int = 2000, seed: int = 11) -> Workload:
    pool = CustomerPool(seed=seed)
    motor = products.get("motor")  # the benchmark prices motor quotes
    quotes, predicts, bento = [], [], []
    for i in range(n):
        q = pool.quote()
        key = str(q.get("customer_key") or f"anon-{i}")
        outcome = derive(motor, orjson.dumps(q), pool.at)
        assert isinstance(outcome, Derived), outcome  # the pool only draws valid customers
        f = outcome.body
        if "customer_key" in q:
            q = {**q, "customer_key": f"{q['customer_key']}-{UNIQUE}"}
        quotes.append(Request(orjson.dumps(q).decode(), key))
        predicts.append(Request(orjson.dumps({"schema_version": f["schema_version"],
                                              "features": [f["features"]]}).decode(), key))
        bento.append(Request(orjson.dumps({"features": [f["features"]]}).decode(), key))
    return Workload(quotes, predicts, bento)
