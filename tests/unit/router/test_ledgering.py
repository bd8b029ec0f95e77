"""The router's ledger logic in process: keys, records, answers and bind outcomes,
against a real SQLite store in a temp folder."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from quoteflow import products
from quoteflow.ledger.record import QuoteRecord, Reason, json_native
from quoteflow.ledger.sqlite import SqliteStore
from quoteflow.products.motor import shaping
from quoteflow.router.ledgering import (
    Pricing,
    QuoteLedger,
    public_answer,
    recorded_quote,
)
from quoteflow.router.quotes_api import bind_answer

NOW = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
BODY = (b'{"vehicle_power": 6, "customer_key": "c-1", "area": "C", "bonus_malus": 60,'
        b' "vehicle_brand": "B1", "driver_birth_date": "1980-01-01",'
        b' "vehicle_first_registration_date": "2018-01-01"}')
FEATS = {"schema_version": "1", "features": [1.0, 2.0], "sticky_key": "c-1",
         "customer_key": "c-1", "quote_date": "2026-12-01"}
PREDICTION = {"premium": 412.37, "currency": "EUR",
              "breakdown": {"pure_premium": 317.2077, "minimum_applied": False}}
MODEL = {"name": "motor", "version": "1", "sha256": "a" * 64}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


def ledger(tmp_path: Path, clock: Clock) -> QuoteLedger:
    return QuoteLedger(SqliteStore(tmp_path / "ledger.sqlite3"), products.get("motor"),
                       "router-0", clock)


def pricing(quote_id: str = "q1") -> Pricing:
    return Pricing(quote_id, FEATS["features"], "1", MODEL, "blue",  # type: ignore[arg-type]
                   Reason(bucket=604, policy_generation=3))


def test_the_key_resolves_the_quote_date_and_keeps_the_request_as_received(
        tmp_path: Path) -> None:
    led = ledger(tmp_path, Clock())
    key = led.key(BODY, FEATS)
    assert orjson.loads(key.request_json) == orjson.loads(BODY)  # no date added to the record
    assert key.customer_key == "c-1"
    later = led.key(BODY, {**FEATS, "quote_date": "2026-12-02"})
    assert later.request_key != key.request_key  # "today" on another day: another quote
    assert later.request_sha256 == key.request_sha256
    spaced = led.key(BODY.replace(b", ", b",   "), FEATS)
    assert spaced.request_key == key.request_key  # canonical JSON: spacing does not matter


def test_answer_is_the_record_and_the_premium_goes_out_exact(tmp_path: Path) -> None:
    clock = Clock()
    led = ledger(tmp_path, clock)
    key = led.key(BODY, FEATS)
    rec = led.record_of(key, pricing(), PREDICTION, {"validity_days": 30.0})
    assert rec is not None
    assert rec.premium == Decimal("412.37") and rec.valid_until == NOW + dt.timedelta(30)
    answer = public_answer(rec, "quote_id")
    text = orjson.dumps(answer)
    assert b'"premium":412.37' in text
    assert answer["model"] == {"name": "motor", "version": "1", "color": "blue"}
    assert answer["quoted_at"] == "2026-12-01T09:30:00Z"


def test_money_rounds_half_up_to_the_unit() -> None:
    meta: dict[str, Any] = {"pricing": {"minor_unit": 2}}
    got = shaping.money(np.array([0.125, 10.005, 1e6 / 3, 2.0]), meta)
    assert got == [Decimal("0.13"), Decimal("10.01"), Decimal("333333.33"), Decimal("2.00")]
    assert shaping.money(np.array([149.5]), {"pricing": {"minor_unit": 0}}) == [Decimal("150")]


def test_requote_store_round_trip_bind_and_expiry(tmp_path: Path) -> None:
    clock = Clock()
    led = ledger(tmp_path, clock)

    async def scenario() -> None:
        await led.store.open()
        try:
            key = led.key(BODY, FEATS)
            assert await led.requote(key) is None
            rec = led.record_of(key, pricing(), PREDICTION, {"validity_days": 1.0})
            assert rec is not None
            await led.commit(rec, 5.0)
            again = await led.requote(key)
            assert again is not None and again.quote_id == "q1"
            doc = recorded_quote(again, clock())
            assert doc["status"] == "quoted" and doc["request"] == orjson.loads(BODY)
            assert "request_json" not in doc
            status, body = bind_answer(await led.bind("q1"), led)
            assert status == 200 and body["already_bound"] is False
            status, body2 = bind_answer(await led.bind("q1"), led)
            assert status == 200 and body2["already_bound"]
            assert body2["bound_at"] == body["bound_at"]
            assert bind_answer(await led.bind("nope"), led)[0] == 404
            other = led.record_of(led.key(BODY, {**FEATS, "customer_key": None,
                                                 "sticky_key": None}), pricing("q2"),
                                  PREDICTION, {"validity_days": 1.0})
            assert other is not None
            await led.commit(other, 5.0)
            clock.now = NOW + dt.timedelta(days=2)
            status, refused = bind_answer(await led.bind("q2"), led)
            assert status == 409 and refused["valid_until"] == "2026-12-02T09:30:00Z"
            assert "valid until 2026-12-02T09:30:00" in refused["detail"]
        finally:
            await led.store.close()

    asyncio.run(scenario())


def test_a_product_that_does_not_price_records_nothing(tmp_path: Path) -> None:
    claims = products.get("claims")
    led = QuoteLedger(SqliteStore(tmp_path / "l.sqlite3"), claims, "router-0", Clock())
    assert led.record_of(led.key(b"{}", {}), pricing(), {"decision": "valid"}, {}) is None


@pytest.mark.parametrize("field", ["quoted_at", "valid_until"])
def test_timestamps_are_utc_with_z(field: str, tmp_path: Path) -> None:
    led = ledger(tmp_path, Clock())
    rec = led.record_of(led.key(BODY, FEATS), pricing(), PREDICTION, {"validity_days": 30})
    assert rec is not None
    assert public_answer(rec, "quote_id")[field].endswith("Z")


def test_the_record_built_without_validation_is_what_validation_gives(tmp_path: Path) -> None:
    # record_of skips QuoteRecord's validation on the hot path (issue 29): the row must
    # be the one a validated build makes, field by field and type by type
    led = ledger(tmp_path, Clock())
    prediction = {**PREDICTION, "breakdown": {"severity": Decimal("5791.10"), "n": 2}}
    p = Pricing("q1", [1, 2.5], "1", MODEL, "blue", Reason(bucket=604))  # type: ignore[arg-type]
    rec = led.record_of(led.key(BODY, FEATS), p, prediction, {"validity_days": 30})
    assert rec is not None
    validated = QuoteRecord(**dict(rec))
    assert rec == validated
    assert [type(v) for v in rec.features] == [float, float]
    assert rec.breakdown == {"severity": "5791.10", "n": 2}  # as the store reads it back


def test_a_breakdown_is_kept_as_the_store_will_read_it_back() -> None:
    native = {"severity": 5791.1, "rules": [], "guardrails": {"capped": False, "n": None}}
    assert json_native(native) is native  # parsed from inference's JSON: nothing to do
    when = dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC)
    assert json_native({"at": when, "prior": Decimal("312.00")}) == {
        "at": "2026-12-03T09:30:00+00:00", "prior": "312.00"}
    with pytest.raises(ValueError, match="breakdown is not JSON"):
        json_native({"bad": {1, 2}})


@pytest.mark.parametrize(("change", "field"), [
    ({"features": [1.0, float("nan")]}, "features"),
    ({"model": {**MODEL, "sha256": "not-a-digest"}}, "model_sha256"),
    ({"currency": "euro"}, "currency"),
    ({"validity_days": -1.0}, "valid_until"),
])
def test_a_bad_row_from_upstream_is_refused_naming_the_field(
        change: dict[str, Any], field: str, tmp_path: Path) -> None:
    led = ledger(tmp_path, Clock())
    p = Pricing("q1", change.get("features", FEATS["features"]), "1",  # type: ignore[arg-type]
                change.get("model", MODEL), "blue", Reason(bucket=604))
    prediction = {**PREDICTION, **{k: v for k, v in change.items() if k == "currency"}}
    answer = {"validity_days": change.get("validity_days", 30.0)}
    with pytest.raises(ValueError, match=field):
        led.record_of(led.key(BODY, FEATS), p, prediction, answer)
