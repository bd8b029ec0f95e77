"""Every malformed quote request gets a 4xx naming what is wrong, never a 5xx.

Real HTTP through the router (which forwards the raw body to preprocess).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from quoteflow.local.stack import Stack
from tests.e2e.helpers import make_stack, quote_body

TODAY = dt.datetime.now(dt.UTC).date()
FUTURE = (TODAY + dt.timedelta(days=30)).isoformat()


def years_ago(n: int, days: int = 0) -> str:
    return (TODAY.replace(year=TODAY.year - n) - dt.timedelta(days=days)).isoformat()


def j(**overrides: Any) -> bytes:
    return json.dumps(quote_body(**overrides)).encode()


def without(field: str) -> bytes:
    body = quote_body()
    body.pop(field)
    return json.dumps(body).encode()


JSON = {"content-type": "application/json"}
# (case id, body bytes, headers, expected status, text the message must contain)
CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("not json", b"{driver", JSON, 422, "Invalid JSON"),
    ("empty body", b"", JSON, 422, "empty body"),
    ("json array", b"[1, 2]", JSON, 422, "an object"),
    ("json string", b'"quote"', JSON, 422, "an object"),
    ("json null", b"null", JSON, 422, "an object"),
    ("truncated json", j()[:-5], JSON, 422, "Invalid JSON"),
    ("missing birth date", without("driver_birth_date"), JSON, 422, "driver_birth_date"),
    ("missing registration", without("vehicle_first_registration_date"), JSON, 422,
     "vehicle_first_registration_date"),
    ("missing power", without("vehicle_power"), JSON, 422, "vehicle_power"),
    ("missing brand", without("vehicle_brand"), JSON, 422, "vehicle_brand"),
    ("missing area", without("area"), JSON, 422, "area"),
    ("missing bonus malus", without("bonus_malus"), JSON, 422, "bonus_malus"),
    ("power as string", j(vehicle_power="6"), JSON, 422, "valid integer"),
    ("power as float", j(vehicle_power=6.5), JSON, 422, "valid integer"),
    ("bonus malus as bool", j(bonus_malus=True), JSON, 422, "valid integer"),
    ("birth date not a date", j(driver_birth_date="yesterday"), JSON, 422, "valid date"),
    ("impossible date", j(driver_birth_date="1985-02-30"), JSON, 422, "day value"),
    ("birth date as number", j(driver_birth_date=19850412), JSON, 422, "date"),
    ("future birth date", j(driver_birth_date=FUTURE), JSON, 422, "after the quote date"),
    ("future registration", j(vehicle_first_registration_date=FUTURE), JSON, 422,
     "after the quote date"),
    ("driver under 18", j(driver_birth_date=years_ago(17)), JSON, 422, "legal age"),
    ("driver 18 tomorrow", j(driver_birth_date=years_ago(18, days=-1)), JSON, 422,
     "legal age"),
    ("driver too old for the model", j(driver_birth_date=years_ago(95)), JSON, 422,
     "rated range"),
    ("vehicle too old", j(vehicle_first_registration_date=years_ago(60)), JSON, 422,
     "rated range"),
    ("power too high", j(vehicle_power=400), JSON, 422, "rated range"),
    ("power negative", j(vehicle_power=-3), JSON, 422, "rated range"),
    ("huge number", j(bonus_malus=10**30), JSON, 422, "rated range"),
    ("bonus malus below 50", j(bonus_malus=10), JSON, 422, "rated range"),
    ("unknown brand", j(vehicle_brand="B99"), JSON, 422, "B12"),
    ("unknown area", j(area="Z"), JSON, 422, "'A'"),
    ("lower-case area", j(area="c"), JSON, 422, "'A'"),
    ("unknown field", j(colour="red"), JSON, 422, "Extra inputs"),
    ("customer key empty", j(customer_key=""), JSON, 422, "at least 1"),
    ("customer key too long", j(customer_key="k" * 500), JSON, 422, "at most 128"),
    ("customer key with spaces", j(customer_key="a b"), JSON, 422, "pattern"),
    ("quote date too far ahead", j(quote_date=(TODAY + dt.timedelta(days=400)).isoformat()),
     JSON, 422, "days ahead"),
    ("wrong content type", j(), {"content-type": "text/plain"}, 415, "application/json"),
    ("no content type", j(), {}, 415, "application/json"),
    ("form encoded", b"vehicle_power=6", {"content-type": "application/x-www-form-urlencoded"},
     415, "application/json"),
    ("oversized body", json.dumps({**quote_body(), "customer_key": "k" * 100_000}).encode(),
     JSON, 413, "bytes"),
    ("deeply nested", b"[" * 5000 + b"]" * 5000, JSON, 422, "Invalid JSON"),
]


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    st = make_stack(trained_registry, tmp_path_factory.mktemp("bad"))
    with st:
        yield st


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("body", "headers", "status", "needle"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_request_is_refused_clearly(stack: Stack, body: bytes, headers: dict[str, str],
                                        status: int, needle: str) -> None:
    http = urllib3.PoolManager()
    r = http.request("POST", stack.config.url("router") + "/v1/quote", body=body,
                     headers=headers)
    assert r.status == status, r.data[:500]
    detail = json.loads(r.data)["detail"]
    assert needle in json.dumps(detail), detail
    if status == 422 and isinstance(detail, list):
        assert all({"loc", "msg", "type"} <= set(e) for e in detail)


def test_several_bad_fields_get_one_entry_each(stack: Stack) -> None:
    http = urllib3.PoolManager()
    body = j(vehicle_power=99, bonus_malus=10, area="Q", vehicle_brand="B0")
    r = http.request("POST", stack.config.url("router") + "/v1/quote", body=body, headers=JSON)
    assert r.status == 422
    fields = sorted(e["loc"][-1] for e in json.loads(r.data)["detail"])
    assert fields == ["area", "vehicle_brand"]  # types first: ranges are checked once they parse
    body = j(vehicle_power=99, bonus_malus=10, driver_birth_date=FUTURE)
    r = http.request("POST", stack.config.url("router") + "/v1/quote", body=body, headers=JSON)
    fields = sorted(e["loc"][-1] for e in json.loads(r.data)["detail"])
    assert fields == ["bonus_malus", "driver_birth_date", "vehicle_power"]
