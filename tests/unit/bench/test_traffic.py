"""The load tests' traffic is what it claims: valid bodies pass preprocess's
validation, each invalid kind is refused by it. (Locust itself runs in
tests/e2e/test_locust.py, in its own process: gevent's monkey-patching must not
happen inside pytest.)"""

from __future__ import annotations

import random

import orjson
import pytest

from quoteflow import products
from quoteflow.bench.traffic import INVALID_KINDS, CustomerPool, today
from quoteflow.preprocess.derive import Derived, Rejected, derive

MOTOR = products.get("motor")


def features_of(body: dict, at) -> list[float]:  # type: ignore[no-untyped-def]
    out = derive(MOTOR, orjson.dumps(body), at)
    assert isinstance(out, Derived), out
    return out.body["features"]  # type: ignore[no-any-return]


def test_valid_bodies_derive() -> None:
    pool = CustomerPool(5000)
    keys = []
    for _ in range(2000):
        body = pool.quote()
        assert len(features_of(body, today())) == 20
        keys.append(body.get("customer_key"))
    # customers come back (re-quotes), and some visitors are anonymous
    named = [k for k in keys if k]
    assert len(set(named)) < len(named)
    assert None in keys


@pytest.mark.parametrize("kind", [k for k, _ in INVALID_KINDS])
def test_each_invalid_kind_is_refused(kind: str) -> None:
    pool = CustomerPool(200, seed=1)
    spoil = dict(INVALID_KINDS)[kind]
    for c in random.Random(0).sample(pool.customers, 20):
        body = dict(c)
        spoil(body, pool.at)
        out = derive(MOTOR, orjson.dumps(body), pool.at)
        assert isinstance(out, Rejected), body
        assert out.errors and all(err["loc"][0] == "body" for err in out.errors)


def test_pool_spans_every_feature_band() -> None:
    pool = CustomerPool(5000)
    feats = [features_of(pool.quote(), pool.at) for _ in range(3000)]
    # every one-hot column (brands, age bands) is hit at least once: shadow variety
    for j in range(5, 20):
        assert any(f[j] == 1.0 for f in feats), j
