"""Motor's one request generator is what it claims: valid bodies pass preprocess's
validation, each invalid kind is refused by it, a book's bad rows break a rule and
its others do not, and every product's examples are valid today. (Locust itself runs
in tests/e2e/test_locust.py, in its own process: gevent's monkey-patching must not
happen inside pytest.)"""

from __future__ import annotations

import datetime as dt
import random

import orjson
import pyarrow as pa
import pytest

from quoteflow import products
from quoteflow.batch.judged import judge
from quoteflow.preprocess.derive import Derived, Rejected, derive
from quoteflow.products.motor.requests import INVALID_KINDS, CustomerPool, book_table, today

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


def test_a_books_bad_rows_break_one_rule_and_the_others_price() -> None:
    at = dt.date(2026, 6, 1)
    table = book_table(3000, 4, at, bad_share=0.05)
    assert table.equals(book_table(3000, 4, at, bad_share=0.05))
    assert table.column("vehicle_power").type == pa.int64()
    judged = judge(MOTOR, table.to_batches()[0], False, at, at)
    fields = {e[0]["loc"][1] for _, _, e in judged.rejected}
    assert fields == {"driver_birth_date", "vehicle_power", "bonus_malus"}
    assert all(len(e) == 1 and e[0]["type"] == "value_error" for _, _, e in judged.rejected)
    assert 0.03 < len(judged.rejected) / 3000 < 0.07
    assert len(judged.ok) + len(judged.rejected) == 3000


@pytest.mark.parametrize("name", products.names())
def test_every_products_examples_are_seeded_and_valid_today(name: str) -> None:
    product = products.get(name)
    bodies = product.example_requests(300, seed=5)
    assert len(bodies) == 300 and bodies == product.example_requests(300, seed=5)
    assert bodies != product.example_requests(300, seed=6)
    for body in bodies:
        out = derive(product, orjson.dumps(body), today())
        assert isinstance(out, Derived), (body, out)
