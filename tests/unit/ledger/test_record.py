"""The record type refuses what would make a ledger row wrong or unverifiable."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from pydantic import ValidationError

from quoteflow.ledger import LedgerSettings, canonical_json, request_key
from quoteflow.ledger.record import time_ordered_id
from tests.unit.ledger.records import REQUEST, T0, record


def test_canonical_json_sorts_keys_without_spaces() -> None:
    assert canonical_json({"b": 1, "a": [1, 2], "c": "é"}) == '{"a":[1,2],"b":1,"c":"é"}'


def test_request_key_depends_on_product_and_resolved_date() -> None:
    k = request_key("motor", REQUEST)
    assert k == request_key("motor", dict(reversed(list(REQUEST.items()))))
    assert k != request_key("claims", REQUEST)
    assert k != request_key("motor", {**REQUEST, "quote_date": "2026-11-24"})


def test_status_quoted_expired_bound() -> None:
    r = record(validity=dt.timedelta(days=1))
    assert r.status(r.valid_until) == "quoted"  # valid up to and including valid_until
    assert r.status(r.valid_until + dt.timedelta(microseconds=1)) == "expired"
    bound = r.model_copy(update={"bound_at": T0})
    assert bound.status(r.valid_until + dt.timedelta(days=9)) == "bound"


def test_premium_stays_exact_in_json() -> None:
    r = record(premium="0.10")
    assert r.model_dump(mode="json")["premium"] == "0.10"
    assert r.premium + r.premium + r.premium == Decimal("0.30")


@pytest.mark.parametrize(("change", "message"), [
    ({"request_json": '{"b": 1, "a": 2}'}, "not canonical"),
    ({"request_sha256": "0" * 64}, "request_sha256 is not the sha256"),
    ({"quoted_at": dt.datetime(2026, 11, 23, 9, 0)}, "timezone"),
    ({"valid_until": T0 - dt.timedelta(seconds=1)}, "before quoted_at"),
    ({"premium": Decimal("NaN")}, "premium"),
    ({"features": [1.0, float("inf")]}, "features.1\n  Input should be a finite number"),
    ({"currency": "euro"}, "currency"),
    ({"model_sha256": "xyz"}, "model_sha256"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_records_are_refused_naming_the_field(change: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[")):
        record(**change)


def test_times_are_kept_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    r = record(quoted_at=T0.astimezone(paris))
    assert r.quoted_at.tzinfo == dt.UTC and r.quoted_at == T0


def test_settings_refuse_an_unknown_store_url() -> None:
    with pytest.raises(ValidationError, match="expected sqlite:///path or postgresql://"):
        LedgerSettings(url="mysql://db/quotes")
    assert LedgerSettings().url == "sqlite:///var/run/motor/ledger.sqlite3"


def test_quote_ids_are_uuid7_in_uuid4s_shape_and_sort_by_time() -> None:
    first = time_ordered_id()
    time.sleep(0.002)
    later = [time_ordered_id() for _ in range(1000)]
    assert all(len(i) == 32 and i == i.lower() and int(i, 16) >= 0 for i in later)
    assert {uuid.UUID(i).version for i in later} == {7}
    assert {uuid.UUID(i).variant for i in later} == {uuid.RFC_4122}
    assert all(first < i for i in later)  # a later millisecond sorts after
    assert len(set(later)) == 1000
    # the first 48 bits are the Unix time in milliseconds
    assert abs(int(first[:12], 16) - time.time() * 1000) < 60_000
