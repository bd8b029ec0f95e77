"""The live path's scalar motor derivation (features_one) equals the vectorised one.

features.py is THE definition; features_one copies it for one quote. 120,000 seeded
requests, drawn mostly on the edges (every DOMAIN bound +-1, every age band bound, one
day either side of each anniversary, 29 February birthdays at leap and non-leap quote
dates, dates after the quote date, quote dates 89-92 days ahead, quote_date None,
unknown areas and brands, integers past float64's exact range), go through ONE
vectorised columns/errors call per ``today``; each is then derived alone by the scalar
path and must give the same problems (message text included) and the same feature bits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections import Counter
from typing import Any

import numpy as np
import pytest

from quoteflow import products
from quoteflow.errors import rule_errors
from quoteflow.preprocess.derive import Derived, Rejected, derive
from quoteflow.products.base import FieldProblem, Product, RowDerivation
from quoteflow.products.motor import features as f
from quoteflow.products.motor import features_one
from quoteflow.products.motor.contract import QUOTE_EXAMPLE, QuoteRequest

MOTOR = products.get("motor")
# leap day, the day before and after one, a year end: quote dates land around them all
TODAYS = (dt.date(2024, 2, 29), dt.date(2025, 2, 28), dt.date(2027, 3, 1),
          dt.date(2027, 12, 31))
PER_TODAY = 30_000
UNKNOWN_AREAS = ("F", "a", "", "AB", " A")
UNKNOWN_BRANDS = ("B13", "b1", "", "B0", "B12 ")
HUGE = (10**30, -(10**30), 2**63, 2**64 + 1, 10**308)


def _edges(name: str) -> list[int]:
    r = f.DOMAIN[name]
    return [int(r.low) - 1, int(r.low), int(r.high), int(r.high) + 1]


AGE_EDGES = sorted({a for _, lo, hi in f.DRIVER_AGE_BANDS for b in (lo, hi) if b < 999
                    for a in (b - 1, b, b + 1)} | set(_edges("driver_age")) | {0, 1, 17})
VEHICLE_EDGES = sorted({a for _, lo, hi in f.VEHICLE_AGE_BANDS for b in (lo, hi) if b < 999
                        for a in (b - 1, b, b + 1)} | set(_edges("vehicle_age")))


def _anniversary(at: dt.date, years: int) -> dt.date:
    """``years`` before ``at`` on the same day; 29 February falls back to the 28th."""
    y = at.year - years
    try:
        return at.replace(year=y)
    except ValueError:
        return dt.date(y, 2, 28)


def _some_date(rng: np.random.Generator, lo: dt.date, hi: dt.date) -> dt.date:
    return lo + dt.timedelta(days=int(rng.integers(0, max((hi - lo).days, 0) + 1)))


def _born(rng: np.random.Generator, at: dt.date, edges: list[int], top: int) -> dt.date:
    kind = rng.random()
    if kind < 0.55:  # on an age edge, one day either side of the anniversary or on it
        years = edges[rng.integers(len(edges))] if rng.random() < 0.8 else rng.integers(top)
        return _anniversary(at, int(years)) + dt.timedelta(days=int(rng.integers(-1, 2)))
    if kind < 0.70:  # 29 February, in a leap year an edge's age back or any
        y = at.year - int(edges[rng.integers(len(edges))]) - int(rng.integers(0, 4))
        while not calendar.isleap(y):
            y -= 1
        return dt.date(y, 2, 29)
    if kind < 0.82:  # after the quote date
        return at + dt.timedelta(days=int(rng.choice([1, 2, 365, rng.integers(1, 5000)])))
    return _some_date(rng, dt.date(1, 1, 1) if kind > 0.98 else dt.date(1900, 1, 1), at)


def _quote_date(rng: np.random.Generator, today: dt.date) -> dt.date | None:
    kind = rng.random()
    if kind < 0.15:
        return None
    if kind < 0.35:  # around the 90 days' limit
        return today + dt.timedelta(days=int(rng.choice([-1, 0, 1, 89, 90, 91, 92, 400])))
    if kind < 0.60:  # around 29 February, in leap and non-leap years
        y = int(rng.integers(today.year - 3, today.year + 1))
        return dt.date(y, 3, 1) - dt.timedelta(days=int(rng.integers(-1, 4)))
    return today - dt.timedelta(days=int(rng.integers(-100, 4000)))


def _number(rng: np.random.Generator, name: str, spread: tuple[int, int]) -> int:
    kind = rng.random()
    if kind < 0.5:
        return _edges(name)[rng.integers(4)]
    if kind < 0.99:
        return int(rng.integers(*spread))
    return HUGE[rng.integers(len(HUGE))]


def _pick(rng: np.random.Generator, known: tuple[str, ...], unknown: tuple[str, ...]) -> str:
    return unknown[rng.integers(len(unknown))] if rng.random() < 0.03 else \
        known[rng.integers(len(known))]


def _requests(rng: np.random.Generator, today: dt.date, n: int) -> list[QuoteRequest]:
    out = []
    for _ in range(n):
        qd = _quote_date(rng, today)
        at = qd or today
        fields: dict[str, Any] = {
            "driver_birth_date": _born(rng, at, AGE_EDGES, 110),
            "vehicle_first_registration_date": _born(rng, at, VEHICLE_EDGES, 60),
            "vehicle_power": _number(rng, "vehicle_power", (-5, 25)),
            "vehicle_brand": _pick(rng, f.BRANDS, UNKNOWN_BRANDS),
            "area": _pick(rng, f.AREAS, UNKNOWN_AREAS),
            "bonus_malus": _number(rng, "bonus_malus", (0, 300)),
            "customer_key": None,
            "quote_date": qd,
        }
        known = fields["area"] in f.AREAS and fields["vehicle_brand"] in f.BRANDS
        # the request model only admits known categories: construct() the others
        out.append(QuoteRequest.model_validate(fields) if known else
                   QuoteRequest.model_construct(**fields))
    return out


def _scalar(req: QuoteRequest, today: dt.date) -> RowDerivation:
    got = MOTOR.derive_one(req, today)
    direct = features_one.derive_quote(  # the module's function, without the product glue
        req.driver_birth_date, req.vehicle_first_registration_date, req.quote_date or today,
        req.vehicle_power, req.bonus_malus, req.area, req.vehicle_brand, today)
    assert direct == got
    return got


@pytest.fixture(scope="module")
def compared() -> Counter[str]:
    """Every generated request compared; what the comparison covered, counted."""
    rng = np.random.default_rng(20)
    seen: Counter[str] = Counter()
    for today in TODAYS:
        reqs = _requests(rng, today, PER_TODAY)
        cols = MOTOR.columns(reqs, today)
        expected: dict[int, list[FieldProblem]] = {}
        for p in MOTOR.errors(cols, today):
            expected.setdefault(p.row, []).append(p._replace(row=0))
        rows: list[list[float]] = []
        for i, req in enumerate(reqs):
            got = _scalar(req, today)
            assert got.problems == expected.get(i, []), (i, req)
            assert (got.features is None) == bool(got.problems)
            if got.features is not None:
                rows.append(got.features)
                assert all(type(v) is float for v in got.features)
            seen.update(f"{p.field}: {p.message.split(' ')[0]}" for p in got.problems)
            seen.update(["quote_date None"] * (req.quote_date is None))
            born = req.driver_birth_date
            seen.update(["born 29 February"] * ((born.month, born.day) == (2, 29)))
        valid = [r for i, r in enumerate(reqs) if i not in expected]
        want = MOTOR.features(MOTOR.columns(valid, today))  # the vectorised float32 rows
        got_rows = np.array(rows, dtype=np.float64)
        assert got_rows.shape == want.shape
        # bit for bit: the scalar floats are float32 values, and exactly the vectorised ones
        assert np.array_equal(got_rows.astype(np.float32).view(np.uint32), want.view(np.uint32))
        assert np.array_equal(got_rows.view(np.uint64), want.astype(np.float64).view(np.uint64))
        for name, column in zip(f.FEATURE_NAMES, want.T, strict=True):
            seen.update(f"{name}={v:g}" for v in np.unique(column))
        seen["requests"] += len(reqs)
        seen["valid"] += len(valid)
    return seen


def test_scalar_and_vectorised_agree_on_every_generated_request(compared: Counter[str]) -> None:
    assert compared["requests"] == len(TODAYS) * PER_TODAY >= 100_000
    assert compared["valid"] > 5_000  # features compared on many rows, not only errors


def test_the_generated_requests_reach_every_rule_and_every_column(
        compared: Counter[str]) -> None:
    """A guard on the generator: each kind of problem, each category and each band on
    both sides, each DOMAIN bound as a valid value, many times over."""
    kinds = ["quote_date: is", "driver_birth_date: is", "driver_birth_date: driver",
             "vehicle_first_registration_date: is", "vehicle_first_registration_date: vehicle",
             "vehicle_power: 3", "vehicle_power: 16", "vehicle_power: 1e+30",
             "bonus_malus: 49", "bonus_malus: 157", "bonus_malus: -1e+30",
             "area: unknown", "vehicle_brand: unknown", "quote_date None", "born 29 February"]
    # the two driver messages (under age, over the range) both start "driver is"
    assert all(compared[k] >= 50 for k in kinds), {k: compared[k] for k in kinds}
    binary = [n for n in f.FEATURE_NAMES if n.startswith(("brand_", "driver_age_", "vehicle_age_"))]
    assert all(compared[f"{n}=0"] and compared[f"{n}=1"] for n in binary)
    assert all(compared[f"area_code={i + 1}"] for i in range(len(f.AREAS)))
    for name in ("driver_age", "vehicle_age", "vehicle_power", "bonus_malus"):
        r = f.DOMAIN[name]
        assert compared[f"{name}={r.low:g}"] and compared[f"{name}={r.high:g}"], name
    for age in AGE_EDGES:
        if f.DOMAIN["driver_age"].low <= age <= f.DOMAIN["driver_age"].high:
            assert compared[f"driver_age={age}"], age
    for age in VEHICLE_EDGES:
        if 0 <= age <= f.DOMAIN["vehicle_age"].high:
            assert compared[f"vehicle_age={age}"], age


def test_29_february_is_reached_on_1_march_in_non_leap_years() -> None:
    born = dt.date(2000, 2, 29)
    for at, age in [(dt.date(2018, 2, 28), 17), (dt.date(2018, 3, 1), 18),
                    (dt.date(2020, 2, 28), 19), (dt.date(2020, 2, 29), 20)]:
        assert features_one.completed_years(born, at) == age
        assert f.ages_at(np.array([born], "datetime64[D]"), np.array([at], "datetime64[D]"))[0] \
            == age


def test_unknown_categories_given_to_the_scalar_function_directly() -> None:
    today = dt.date(2026, 1, 10)
    for area in (*f.AREAS, *UNKNOWN_AREAS):
        for brand in (*f.BRANDS, *UNKNOWN_BRANDS):
            req = QuoteRequest.model_construct(**{**QUOTE_EXAMPLE, "quote_date": None,
                                                  "driver_birth_date": dt.date(1980, 1, 1),
                                                  "vehicle_first_registration_date":
                                                      dt.date(2020, 1, 1),
                                                  "area": area, "vehicle_brand": brand})
            assert _scalar(req, today) == Product.derive_one(MOTOR, req, today)


def _old_derive(body: bytes, today: dt.date) -> Derived | Rejected:
    """derive() as it was before derive_one: columns, errors, features on one row."""
    req = QuoteRequest.model_validate_json(body)
    cols = MOTOR.columns([req], today)
    if problems := MOTOR.errors(cols, today):
        return Rejected(rule_errors(problems))
    return Derived({"schema_version": MOTOR.feature_schema_version,
                    "features": MOTOR.features(cols)[0].tolist(),
                    "sticky_key": req.customer_key, **MOTOR.context(req, today)})


@pytest.mark.parametrize("change", [
    {}, {"quote_date": None}, {"customer_key": None, "quote_date": None},
    {"driver_birth_date": "2008-02-29", "quote_date": "2026-02-28"},  # 17: rejected
    {"driver_birth_date": "2008-02-29", "quote_date": "2026-03-01"},  # 18: priced
    {"vehicle_brand": "B3", "area": "E", "bonus_malus": 156, "vehicle_power": 15},
    {"vehicle_power": 16, "bonus_malus": 10**30, "quote_date": "2027-01-01"},
    {"driver_birth_date": "2030-01-01", "vehicle_first_registration_date": "1900-01-01"},
])
def test_derive_answers_what_the_vectorised_path_answered(change: dict[str, Any]) -> None:
    today = dt.date(2026, 6, 1)
    body = json.dumps({**QUOTE_EXAMPLE, "quote_date": "2026-05-30", **change}).encode()
    got, want = derive(MOTOR, body, today), _old_derive(body, today)
    assert type(got) is type(want) and got == want
    if isinstance(got, Derived):
        assert list(got.body) == list(want.body)  # type: ignore[union-attr]
        assert [type(v) for v in got.body.values()] == \
            [type(v) for v in want.body.values()]  # type: ignore[union-attr]
        assert all(type(v) is float for v in got.body["features"])
