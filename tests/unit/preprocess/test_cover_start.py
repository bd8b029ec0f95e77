"""The cover start: motor's optional field, resolved by preprocess for the router's
tariff choice, bounded like the quote date."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from quoteflow import products
from quoteflow.preprocess.derive import Derived, Rejected, derive
from quoteflow.products.motor.contract import QUOTE_EXAMPLE

TODAY = dt.date(2026, 12, 2)


def motor(**fields: Any) -> Derived | Rejected:
    body = {k: v for k, v in {**QUOTE_EXAMPLE, "quote_date": None, **fields}.items()
            if v is not None}
    return derive(products.get("motor"), orjson.dumps(body), TODAY)


def test_the_cover_start_defaults_to_the_quote_date_and_is_resolved() -> None:
    plain, dated = motor(), motor(quote_date="2026-12-10")
    assert isinstance(plain, Derived) and plain.body["cover_start"] == "2026-12-02"
    assert isinstance(dated, Derived) and dated.body["cover_start"] == "2026-12-10"
    later = motor(cover_start="2027-01-01")
    assert isinstance(later, Derived) and later.body["cover_start"] == "2027-01-01"
    # the cover start picks the tariff; the features stay the quote date's
    assert later.body["features"] == plain.body["features"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"cover_start": "2026-12-01"}, "is before the quote date"),
    ({"quote_date": "2026-12-20", "cover_start": "2026-12-19"}, "is before the quote date"),
    ({"cover_start": "2027-03-03"}, "is more than 90 days ahead"),
    ({"cover_start": 20270101}, "a date as text"),
    ({"cover_start": "01/01/2027"}, "date"),
])
def test_a_bad_cover_start_is_refused_naming_the_field(fields: dict[str, Any],
                                                        message: str) -> None:
    out = motor(**fields)
    assert isinstance(out, Rejected)
    assert out.errors[0]["loc"] == ["body", "cover_start"] and message in out.errors[0]["msg"]


def test_a_product_without_cover_dates_gives_none() -> None:
    claims = products.get("claims")
    from quoteflow.products.claims.contract import CLAIM_EXAMPLE

    out = derive(claims, orjson.dumps(CLAIM_EXAMPLE), TODAY)
    assert isinstance(out, Derived) and "cover_start" not in out.body
