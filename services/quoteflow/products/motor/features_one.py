"""One quote's problems and feature row in plain Python: the live path's fast copy.

``features.py`` stays THE definition (training, batch scoring); this module mirrors
its ``quote_errors`` and ``quote_features`` for a single quote, because numpy's
per-call overhead on a one-row batch was most of the preprocess service's CPU.
tests/unit/products/motor/test_features_one.py proves the two agree (problems,
message text, feature bits) over every range and band edge: change both together.
"""

from __future__ import annotations

import datetime as dt

from quoteflow.products.base import FieldProblem, RowDerivation
from quoteflow.products.motor.features import (
    AREAS,
    BRANDS,
    DOMAIN,
    DRIVER_AGE_BANDS,
    LEGAL_DRIVING_AGE,
    MAX_FORWARD_QUOTE_DAYS,
    REFERENCE_BRAND,
    VEHICLE_AGE_BANDS,
)

_DR, _VR = DOMAIN["driver_age"], DOMAIN["vehicle_age"]
_PR, _BR = DOMAIN["vehicle_power"], DOMAIN["bonus_malus"]
_AREA_CODE = {a: float(i + 1) for i, a in enumerate(AREAS)}  # encode_area
_KNOWN_BRANDS = frozenset(BRANDS)
_DUMMY_BRANDS = tuple(b for b in BRANDS if b != REFERENCE_BRAND)
_DRIVER_BANDS = tuple((lo, hi) for _, lo, hi in DRIVER_AGE_BANDS)
_VEHICLE_BANDS = tuple((lo, hi) for _, lo, hi in VEHICLE_AGE_BANDS)
# The vectorised row is float32; a valid row holds only integers inside DOMAIN (and
# 0/1, area codes), which float32 represents exactly, so Python floats equal its bits.
assert all(float(b).is_integer() and abs(b) < 2**24
           for r in DOMAIN.values() for b in (r.low, r.high))


def completed_years(born: dt.date, at: dt.date) -> int:
    """``features.completed_years`` for one pair: 29 February is reached on 1 March."""
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


def cover_problems(cover_start: dt.date, quote_date: dt.date, today: dt.date) -> list[str]:
    """A cover starts on or after its quote date, and no further ahead than a quote may
    be dated."""
    if cover_start < quote_date:
        return ["is before the quote date"]
    if (cover_start - today).days > MAX_FORWARD_QUOTE_DAYS:
        return [f"is more than {MAX_FORWARD_QUOTE_DAYS} days ahead"]
    return []


def quote_problems(
    born: dt.date, registered: dt.date, quote_date: dt.date, power: int, bonus_malus: int,
    area: str, brand: str, today: dt.date, driver_age: int, vehicle_age: int,
) -> list[FieldProblem]:
    """``features.quote_errors`` for one quote (row 0): same checks, order and text."""
    out: list[FieldProblem] = []
    if (quote_date - today).days > MAX_FORWARD_QUOTE_DAYS:  # no date overflow near 9999
        out.append(FieldProblem(0, "quote_date",
                                f"is more than {MAX_FORWARD_QUOTE_DAYS} days ahead"))
    # after the quote date, under age and over the range exclude each other (~born_late &)
    if born > quote_date:
        out.append(FieldProblem(0, "driver_birth_date", "is after the quote date"))
    elif driver_age < LEGAL_DRIVING_AGE:
        out.append(FieldProblem(0, "driver_birth_date",
                                f"driver is {driver_age}, under the legal age of "
                                f"{LEGAL_DRIVING_AGE}"))
    elif driver_age > _DR.high:
        out.append(FieldProblem(0, "driver_birth_date",
                                f"driver is {driver_age}, outside the rated range "
                                f"{_DR.low:g}-{_DR.high:g}"))
    if registered > quote_date:
        out.append(FieldProblem(0, "vehicle_first_registration_date", "is after the quote date"))
    elif vehicle_age > _VR.high:
        out.append(FieldProblem(0, "vehicle_first_registration_date",
                                f"vehicle is {vehicle_age} years old, outside the rated range "
                                f"{_VR.low:g}-{_VR.high:g}"))
    # the vectorised checks compare in float64; so do these (and format the same float)
    p, bm = float(power), float(bonus_malus)
    if not _PR.low <= p <= _PR.high:
        out.append(FieldProblem(0, "vehicle_power",
                                f"{p:g} is outside the rated range {_PR.low:g}-{_PR.high:g}"))
    if not _BR.low <= bm <= _BR.high:
        out.append(FieldProblem(0, "bonus_malus",
                                f"{bm:g} is outside the rated range {_BR.low:g}-{_BR.high:g}"))
    if area not in _AREA_CODE:
        out.append(FieldProblem(0, "area", f"unknown area {area!r}; known: {', '.join(AREAS)}"))
    if brand not in _KNOWN_BRANDS:
        out.append(FieldProblem(0, "vehicle_brand",
                                f"unknown brand {brand!r}; known: {', '.join(BRANDS)}"))
    return out


def quote_features(
    driver_age: int, vehicle_age: int, power: int, bonus_malus: int, area: str, brand: str,
) -> list[float]:
    """``features.design_matrix`` for one validated quote, columns FEATURE_NAMES."""
    return [
        float(driver_age), float(vehicle_age), float(power), float(bonus_malus),
        _AREA_CODE[area],
        *[1.0 if brand == b else 0.0 for b in _DUMMY_BRANDS],
        *[1.0 if lo <= driver_age <= hi else 0.0 for lo, hi in _DRIVER_BANDS],
        *[1.0 if lo <= vehicle_age <= hi else 0.0 for lo, hi in _VEHICLE_BANDS],
    ]


def derive_quote(
    born: dt.date, registered: dt.date, quote_date: dt.date, power: int, bonus_malus: int,
    area: str, brand: str, today: dt.date,
) -> RowDerivation:
    """One quote's business-rule problems and, when there are none, its feature row."""
    driver_age = completed_years(born, quote_date)
    vehicle_age = completed_years(registered, quote_date)
    problems = quote_problems(born, registered, quote_date, power, bonus_malus, area, brand,
                              today, driver_age, vehicle_age)
    if problems:
        return RowDerivation(problems, None)
    return RowDerivation([], quote_features(driver_age, vehicle_age, power, bonus_malus,
                                            area, brand))
