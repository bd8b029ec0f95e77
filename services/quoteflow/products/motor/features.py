"""Motor pricing's one feature derivation, used by training, the live path and batch scoring.

Everything that turns policy facts into the model's input vector lives here, in a
vectorised form over numpy arrays. The live path derives its one quote with
``features_one``, a plain-Python copy of ``quote_errors``/``quote_features`` proved
equal to them (change both together). A model artifact records
``FEATURE_SCHEMA_VERSION`` and inference refuses vectors of another version, so
training/serving skew cannot creep in silently.

The schema's domain (categories and numeric ranges) is the range the shipped models
were trained on (freMTPLmini); requests outside it are refused by the preprocess
service rather than extrapolated, and training counts (never drops) rows outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, get_args

import numpy as np

from quoteflow.products.base import FieldProblem

FEATURE_SCHEMA_VERSION = "1"

Area = Literal["A", "B", "C", "D", "E"]  # the request's type (contract.py); AREAS its values
AREAS: tuple[str, ...] = get_args(Area)
# B12 is the reference brand (the most common): it gets no dummy column, which
# keeps the unpenalised GLM's design matrix full rank.
Brand = Literal["B1", "B2", "B3", "B4", "B5", "B6", "B12"]
BRANDS: tuple[str, ...] = get_args(Brand)
REFERENCE_BRAND = "B12"
LEGAL_DRIVING_AGE = 18


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    def contains(self, values: np.ndarray) -> np.ndarray:
        return (values >= self.low) & (values <= self.high)


# Observed in freMTPLmini (the training data of the shipped models).
DOMAIN: dict[str, Range] = {
    "driver_age": Range(18, 91),
    "vehicle_age": Range(0, 50),
    "vehicle_power": Range(4, 15),
    "bonus_malus": Range(50, 156),
}

# Driver age bands (lower bounds, inclusive); 41-50 is the reference band.
DRIVER_AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("driver_age_18_25", 18, 25),
    ("driver_age_26_30", 26, 30),
    ("driver_age_31_40", 31, 40),
    ("driver_age_51_60", 51, 60),
    ("driver_age_61_70", 61, 70),
    ("driver_age_71_plus", 71, 999),
)
# Vehicle age bands; 1-5 years is the reference band.
VEHICLE_AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("vehicle_age_0", 0, 0),
    ("vehicle_age_6_10", 6, 10),
    ("vehicle_age_11_plus", 11, 999),
)

FEATURE_NAMES: tuple[str, ...] = (
    "driver_age",
    "vehicle_age",
    "vehicle_power",
    "bonus_malus",
    "area_code",
    *(f"brand_{b}" for b in BRANDS if b != REFERENCE_BRAND),
    *(name for name, _, _ in DRIVER_AGE_BANDS),
    *(name for name, _, _ in VEHICLE_AGE_BANDS),
)
N_FEATURES = len(FEATURE_NAMES)

# The raw (pre-encoding) columns; drift statistics are kept on these.
RAW_FEATURES: tuple[str, ...] = (
    "driver_age", "vehicle_age", "vehicle_power", "bonus_malus", "area_code",
)


def completed_years(
    born_y: np.ndarray, born_m: np.ndarray, born_d: np.ndarray,
    at_y: np.ndarray, at_m: np.ndarray, at_d: np.ndarray,
) -> np.ndarray:
    """Whole years between two dates given as year/month/day integer arrays.

    A birthday on 29 February counts as reached on 1 March in non-leap years.
    """
    years = at_y - born_y
    before_anniversary = (at_m < born_m) | ((at_m == born_m) & (at_d < born_d))
    return np.asarray(years - before_anniversary.astype(years.dtype))


def split_dates(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day integer arrays from a ``datetime64[D]`` array."""
    d = dates.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return y, m, day


def ages_at(born: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Age in completed years at ``at`` of things born at ``born`` (datetime64 arrays)."""
    return completed_years(*split_dates(born), *split_dates(at))


def encode_area(areas: Sequence[str] | np.ndarray) -> np.ndarray:
    """Area A..E to 1..5 (freMTPL areas are ordered by population density)."""
    lookup = {a: i + 1 for i, a in enumerate(AREAS)}
    return np.fromiter((lookup[a] for a in areas), dtype=np.float64, count=len(areas))


def design_matrix(
    driver_age: np.ndarray,
    vehicle_age: np.ndarray,
    vehicle_power: np.ndarray,
    bonus_malus: np.ndarray,
    area: Sequence[str] | np.ndarray,
    brand: Sequence[str] | np.ndarray,
) -> np.ndarray:
    """The model input: float32 matrix of shape (n, N_FEATURES), columns FEATURE_NAMES.

    Inputs must already be inside DOMAIN with known categories (see ``domain_errors``).
    """
    n = len(driver_age)
    driver_age = np.asarray(driver_age, dtype=np.float64)
    vehicle_age = np.asarray(vehicle_age, dtype=np.float64)
    brand = np.asarray(brand, dtype=object)
    out = np.empty((n, N_FEATURES), dtype=np.float32)
    out[:, 0] = driver_age
    out[:, 1] = vehicle_age
    out[:, 2] = np.asarray(vehicle_power, dtype=np.float64)
    out[:, 3] = np.asarray(bonus_malus, dtype=np.float64)
    out[:, 4] = encode_area(area)
    # One broadcast comparison per group, not one per column: ledger replay calls this
    # with one row, where numpy's per-call overhead is the whole cost.
    out[:, _BRAND_COLS] = brand[:, None] == _DUMMY_BRANDS
    d, v = driver_age[:, None], vehicle_age[:, None]
    out[:, _DRIVER_COLS] = (d >= _DRIVER_LOW) & (d <= _DRIVER_HIGH)
    out[:, _VEHICLE_COLS] = (v >= _VEHICLE_LOW) & (v <= _VEHICLE_HIGH)
    return out


_DUMMY_BRANDS = np.array([b for b in BRANDS if b != REFERENCE_BRAND], dtype=object)
_BRAND_COLS = slice(5, 5 + len(_DUMMY_BRANDS))
_DRIVER_COLS = slice(_BRAND_COLS.stop, _BRAND_COLS.stop + len(DRIVER_AGE_BANDS))
_VEHICLE_COLS = slice(_DRIVER_COLS.stop, N_FEATURES)
_DRIVER_LOW, _DRIVER_HIGH = (np.array(x, dtype=np.float64) for x in
                             zip(*((lo, hi) for _, lo, hi in DRIVER_AGE_BANDS), strict=True))
_VEHICLE_LOW, _VEHICLE_HIGH = (np.array(x, dtype=np.float64) for x in
                               zip(*((lo, hi) for _, lo, hi in VEHICLE_AGE_BANDS), strict=True))
assert _VEHICLE_COLS.stop - _VEHICLE_COLS.start == len(VEHICLE_AGE_BANDS)


def unknown(values: Sequence[str] | np.ndarray, known: Sequence[str]) -> np.ndarray:
    """Mask of values not in ``known``: a set lookup, several times faster than
    np.isin on object arrays at any length."""
    allowed = frozenset(known)
    return np.fromiter((v not in allowed for v in values), dtype=bool, count=len(values))


def domain_errors(
    driver_age: np.ndarray,
    vehicle_age: np.ndarray,
    vehicle_power: np.ndarray,
    bonus_malus: np.ndarray,
    area: Sequence[str] | np.ndarray,
    brand: Sequence[str] | np.ndarray,
) -> dict[str, np.ndarray]:
    """Boolean masks, one per field, of rows outside the schema's domain.

    Used by training (to count and report what it filters) and by batch scoring
    (to reject rows with the live API's message); the live request model checks
    the same ranges field by field.
    """
    masks = {
        "driver_age": ~DOMAIN["driver_age"].contains(np.asarray(driver_age, dtype=np.float64)),
        "vehicle_age": ~DOMAIN["vehicle_age"].contains(np.asarray(vehicle_age, dtype=np.float64)),
        "vehicle_power": ~DOMAIN["vehicle_power"].contains(
            np.asarray(vehicle_power, dtype=np.float64)
        ),
        "bonus_malus": ~DOMAIN["bonus_malus"].contains(np.asarray(bonus_malus, dtype=np.float64)),
        "area": unknown(area, AREAS),
        "brand": unknown(brand, BRANDS),
    }
    return masks


def reference_edges() -> dict[str, list[float]]:
    """Histogram bin edges for drift (PSI) per raw feature, fixed by the schema.

    Fixed edges (not data quantiles) keep reference and live histograms comparable
    across model versions of one schema.
    """
    return {
        "driver_age": [18, 21, 26, 31, 36, 41, 46, 51, 56, 61, 66, 71, 81, 92],
        "vehicle_age": [0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 51],
        "vehicle_power": [4, 5, 6, 7, 8, 9, 10, 12, 16],
        "bonus_malus": [50, 51, 58, 65, 72, 80, 90, 100, 120, 157],
        "area_code": [1, 2, 3, 4, 5, 6],
    }


# --- From quote facts (dates, as the website sends them) to features -----------------

MAX_FORWARD_QUOTE_DAYS = 90  # a quote may be dated ahead, for a renewal; not further


@dataclass
class QuoteColumns:
    """Quote facts column by column: the website's fields, for one or many quotes."""

    driver_birth_date: np.ndarray  # datetime64[D]
    vehicle_first_registration_date: np.ndarray  # datetime64[D]
    quote_date: np.ndarray  # datetime64[D]
    vehicle_power: np.ndarray
    bonus_malus: np.ndarray
    area: np.ndarray  # object (str)
    vehicle_brand: np.ndarray  # object (str)

    def __len__(self) -> int:
        return len(self.quote_date)

    def subset(self, rows: np.ndarray) -> QuoteColumns:
        return QuoteColumns(**{k: getattr(self, k)[rows] for k in self.__dataclass_fields__})

    # computed once: quote_errors and quote_features both read the ages
    @cached_property
    def driver_age(self) -> np.ndarray:
        return ages_at(self.driver_birth_date, self.quote_date)

    @cached_property
    def vehicle_age(self) -> np.ndarray:
        return ages_at(self.vehicle_first_registration_date, self.quote_date)


def quote_errors(q: QuoteColumns, today: np.datetime64) -> list[FieldProblem]:
    """Every business-rule violation as (row, field, message), fields named as in the API.

    The live API and batch scoring both report exactly these messages. The checks
    are vectorised; only rows that fail one are visited to build their messages.
    """
    driver_age = q.driver_age
    vehicle_age = q.vehicle_age
    power = np.asarray(q.vehicle_power, dtype=np.float64)
    bm = np.asarray(q.bonus_malus, dtype=np.float64)
    area = np.asarray(q.area, dtype=object)
    brand = np.asarray(q.vehicle_brand, dtype=object)
    latest = today + np.timedelta64(MAX_FORWARD_QUOTE_DAYS, "D")
    dr, vr = DOMAIN["driver_age"], DOMAIN["vehicle_age"]
    pr, br = DOMAIN["vehicle_power"], DOMAIN["bonus_malus"]

    born_late = q.driver_birth_date > q.quote_date
    registered_late = q.vehicle_first_registration_date > q.quote_date
    checks: list[tuple[str, np.ndarray, object]] = [
        ("quote_date", q.quote_date > latest,
         lambda i: f"is more than {MAX_FORWARD_QUOTE_DAYS} days ahead"),
        ("driver_birth_date", born_late, lambda i: "is after the quote date"),
        ("driver_birth_date", ~born_late & (driver_age < LEGAL_DRIVING_AGE),
         lambda i: f"driver is {driver_age[i]}, under the legal age of {LEGAL_DRIVING_AGE}"),
        ("driver_birth_date", ~born_late & (driver_age > dr.high),
         lambda i: f"driver is {driver_age[i]}, outside the rated range {dr.low:g}-{dr.high:g}"),
        ("vehicle_first_registration_date", registered_late,
         lambda i: "is after the quote date"),
        ("vehicle_first_registration_date", ~registered_late & (vehicle_age > vr.high),
         lambda i: f"vehicle is {vehicle_age[i]} years old, outside the rated range "
                   f"{vr.low:g}-{vr.high:g}"),
        ("vehicle_power", ~pr.contains(power),
         lambda i: f"{power[i]:g} is outside the rated range {pr.low:g}-{pr.high:g}"),
        ("bonus_malus", ~br.contains(bm),
         lambda i: f"{bm[i]:g} is outside the rated range {br.low:g}-{br.high:g}"),
        ("area", unknown(area, AREAS),
         lambda i: f"unknown area {area[i]!r}; known: {', '.join(AREAS)}"),
        ("vehicle_brand", unknown(brand, BRANDS),
         lambda i: f"unknown brand {brand[i]!r}; known: {', '.join(BRANDS)}"),
    ]
    # (row, check) pairs in row order, checks in the order above within a row
    bad = np.argwhere(np.stack([mask for _, mask, _ in checks], axis=1))
    return [FieldProblem(int(i), checks[c][0], checks[c][2](i))
            for i, c in bad]


def quote_features(q: QuoteColumns) -> np.ndarray:
    """The model input for validated quotes (see ``quote_errors``)."""
    return design_matrix(
        q.driver_age, q.vehicle_age, q.vehicle_power, q.bonus_malus, q.area, q.vehicle_brand
    )


# Drift monitoring reads the raw features as the vector's leading columns.
assert FEATURE_NAMES[: len(RAW_FEATURES)] == RAW_FEATURES
