"""Test helpers: realistic ledger records and an opened store for a URL."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

from quoteflow.ledger import (
    LedgerSettings,
    LedgerStore,
    QuoteRecord,
    Reason,
    canonical_json,
    make_store,
    request_key,
    sha256_hex,
)

T = TypeVar("T")
T0 = dt.datetime(2026, 11, 23, 9, 30, 0, 123456, tzinfo=dt.UTC)
REQUEST = {"driver_birth_date": "1985-04-12", "area": "C", "bonus_malus": 50,
           "vehicle_power": 6, "vehicle_brand": "B12", "quote_date": "2026-11-23"}


def record(i: int = 0, *, quoted_at: dt.datetime = T0, validity: dt.timedelta | None = None,
           customer_key: str | None = "cust-1", premium: str = "412.37",
           request: dict[str, Any] | None = None, **over: Any) -> QuoteRecord:
    req = dict(request or REQUEST, vehicle_power=6 + i)
    text = canonical_json(req)
    fields: dict[str, Any] = dict(
        quote_id=f"q{i:06d}", product="motor", quoted_at=quoted_at,
        valid_until=quoted_at + (validity or dt.timedelta(days=30)), request_json=text,
        request_sha256=sha256_hex(text), customer_key=customer_key,
        request_key=request_key("motor", req), features=[0.1 * i, 41.0, 50.0, 1.0 / 3],
        features_schema="2", model_name="motor", model_version="3", model_sha256="ab" * 32,
        color="blue", reason=Reason(bucket=1234, policy_generation=7),
        premium=Decimal(premium), currency="EUR",
        breakdown={"frequency": 0.0712, "severity": Decimal("5791.10")},
        router_instance="router-0")
    fields.update(over)
    return QuoteRecord(**fields)


@asynccontextmanager
async def opened(url: str, **settings: Any) -> AsyncIterator[LedgerStore]:
    # the logic tests' commits must not time out on a loaded machine: only the tests
    # of the deadline itself pass a short one
    settings.setdefault("timeout", 10.0)
    store = make_store(LedgerSettings(url=url, **settings))
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def run(coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))
