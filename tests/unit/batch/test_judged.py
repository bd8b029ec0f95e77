"""Judging a book's rows as the live API would, for any product (batch/judged.py): the
cells' JSON types read from the request model, the live messages, and motor's fast
path only ever a shortcut (the same verdicts and columns as its request model alone)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pytest

from quoteflow import products
from quoteflow.batch.judged import RequestFields, judge
from quoteflow.preprocess.derive import Derived, Rejected, derive

MOTOR, CLAIMS = products.get("motor"), products.get("claims")
AT = dt.date(2026, 6, 1)
GOOD = {"driver_birth_date": "1985-04-12", "vehicle_first_registration_date": "2019-09-01",
        "vehicle_power": 6, "vehicle_brand": "B12", "area": "C", "bonus_malus": 50,
        "customer_key": "cust-1", "quote_date": AT.isoformat()}
# rows that are well typed in any file: each differs from GOOD in one field
ODD: list[dict[str, Any]] = [
    {}, {"quote_date": None}, {"customer_key": None},
    {"driver_birth_date": "1985-04-12T00:00:00"},  # pydantic takes it; not plainly typed
    {"vehicle_brand": "B99"}, {"area": None}, {"vehicle_power": None},
    {"bonus_malus": 200}, {"driver_birth_date": "2010-01-01"},
    {"customer_key": "has space"}, {"customer_key": ""},
    {"driver_birth_date": "2021-02-30"}, {"quote_date": "2026-12-01"},
]
# rows only a CSV can hold: text where a number goes
CSV_ONLY: list[dict[str, Any]] = [
    {"vehicle_power": "06"}, {"vehicle_power": "6.0"}, {"bonus_malus": "fifty"},
    {"vehicle_power": "12345678901234567890"}, {"bonus_malus": "-12345678901234567890"},
]


class ModelOnly(type(MOTOR)):  # type: ignore[misc]
    """Motor without its fast path: every row through QuoteRequest."""

    def batch_fast_path(self, chunk: Any, csv: bool, default_date: dt.date) -> None:
        return None


def chunk(changes: list[dict[str, Any]], csv: bool) -> pa.RecordBatch:
    rows = [GOOD | c for c in changes]
    cols = {n: [r[n] for r in rows] for n in GOOD}
    if not csv:
        return pa.RecordBatch.from_pydict(cols)
    return pa.RecordBatch.from_pydict({n: [None if v is None else str(v) for v in vs]
                                       for n, vs in cols.items()})


def test_cell_types_are_read_from_the_request_model() -> None:
    motor, claims = RequestFields.of(MOTOR.request_model), RequestFields.of(CLAIMS.request_model)
    assert motor.names == (*GOOD, "cover_start", "renews")
    assert (motor.numbers, motor.flags) == ({"vehicle_power", "bonus_malus"}, frozenset())
    assert claims.numbers == {"claimant_age", "claimed_amount", "sum_insured",
                              "prior_claims_3y", "witnesses", "documents_attached"}
    assert claims.flags == {"police_or_medical_report"}


def test_a_cell_is_the_json_value_a_client_would_send() -> None:
    c = RequestFields.of(CLAIMS.request_model)
    assert c.cell_value("12", True, "witnesses") == 12
    assert c.cell_value("1.5e3", True, "claimed_amount") == 1500.0
    assert c.cell_value("06", True, "witnesses") == "06"  # JSON has no leading zeros
    assert c.cell_value("true", True, "police_or_medical_report") is True
    assert c.cell_value("yes", True, "police_or_medical_report") == "yes"
    assert c.cell_value("12", True, "incident_description") == "12"
    assert c.cell_value("12", False, "witnesses") == "12"  # a typed file's text stays text
    assert c.cell_value(dt.date(2026, 1, 2), False, "incident_date") == "2026-01-02"
    assert c.cell_value(dt.datetime(2026, 1, 2, 3), False, "incident_date") == \
        "2026-01-02T03:00:00"


@pytest.mark.parametrize("csv", [False, True])
def test_motors_fast_path_changes_no_verdict_and_batch_answers_as_live(csv: bool) -> None:
    changes = ODD + (CSV_ONLY if csv else [])
    data = chunk(changes, csv)
    fast, slow = judge(MOTOR, data, csv, AT, AT), judge(ModelOnly(), data, csv, AT, AT)
    assert fast.ok.tolist() == slow.ok.tolist()
    assert fast.rejected == slow.rejected
    for f in dataclasses.fields(slow.columns):
        assert getattr(fast.columns, f.name).tolist() == getattr(slow.columns, f.name).tolist()
    x = MOTOR.features(fast.columns)
    assert np.array_equal(x, MOTOR.features(slow.columns))
    # and each row's verdict is the live one: the same errors, or the same features
    for i, body, errors in fast.rejected:
        live = derive(MOTOR, orjson.dumps(body), AT)
        assert isinstance(live, Rejected) and live.errors == errors, (changes[i], errors)
    for j, i in enumerate(fast.ok.tolist()):
        live = derive(MOTOR, orjson.dumps(GOOD | {k: v for k, v in changes[i].items()
                                                  if v is not None}), AT)
        assert isinstance(live, Derived), changes[i]
        assert live.body["features"] == x[j].tolist()
    assert len(fast.ok) + len(fast.rejected) == len(changes)
    assert len(fast.rejected) >= 8


def test_a_renewal_in_a_book_is_rejected_not_priced_as_new_business() -> None:
    for csv in (False, True):
        rows = [GOOD, GOOD | {"renews": "a" * 32}, GOOD | {"renews": None}]
        cols = {n: [r.get(n) for r in rows] for n in [*GOOD, "renews"]}
        if csv:
            cols = {n: ["" if v is None else str(v) for v in vs] for n, vs in cols.items()}
        judged = judge(MOTOR, pa.RecordBatch.from_pydict(cols), csv, AT, AT)
        assert judged.ok.tolist() == [0, 2], csv
        ((i, _, errors),) = judged.rejected
        assert i == 1 and errors[-1]["loc"] == ["body", "renews"]
        assert "priced live only" in errors[-1]["msg"]
