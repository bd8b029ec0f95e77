"""Motor quote requests, generated: the one generator of the tests, the bench and books.

Plausible customers with rough freMTPL shapes, spread over every age band, brand and
area (so that Blue (GLM) and Green (boosting) disagree in varied ways and shadow
comparison has something to see), and the ways requests go wrong:

- ``draw``: n customers' facts at a date, vectorised; ``bodies``: those as the
  website's JSON bodies;
- ``CustomerPool``: customers who re-quote, and bad requests (the load tests, and
  ``MotorProduct.example_requests`` for the bench);
- ``book_table``/``write_book``: a book for batch scoring, ``bad_share`` of its rows
  breaking a rule the live API enforces (pyarrow: the batch extra);
- ``from_policies``: the bodies of a training frame's policies, ages exact.

Not for model quality, which is measured on real data.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from quoteflow.products.motor.features import AREAS, BRANDS, DOMAIN, LEGAL_DRIVING_AGE, split_dates

if TYPE_CHECKING:
    import pyarrow as pa

AREA_P = (0.05, 0.11, 0.28, 0.32, 0.24)
BRAND_P = (0.26, 0.22, 0.08, 0.04, 0.05, 0.04, 0.31)
BONUS_MALUS_LOW = 40  # under the rated range
POWER_HIGH = 30  # over it
Body = dict[str, Any]


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def draw(n: int, rng: np.random.Generator, at: dt.date) -> dict[str, np.ndarray]:
    """n customers' facts (the request's fields but the key and quote date) at ``at``."""
    day = np.datetime64(at, "D")
    age = (rng.gamma(4.0, 6.0, n) + 18.2).clip(18.2, DOMAIN["driver_age"].high - 0.1)
    vehicle_age = rng.exponential(6.5, n).clip(0, 40)
    return {
        "driver_birth_date": day - (age * 365.25).astype("timedelta64[D]"),
        "vehicle_first_registration_date": day - (vehicle_age * 365.25).astype(
            "timedelta64[D]"),
        "vehicle_power": rng.poisson(2.5, n).clip(0, 11) + 4,
        "vehicle_brand": rng.choice(np.array(BRANDS, dtype=object), n, p=BRAND_P),
        "area": rng.choice(np.array(AREAS, dtype=object), n, p=AREA_P),
        "bonus_malus": np.where(rng.random(n) < 0.6, 50, rng.integers(50, 157, n)),
    }


def bodies(facts: dict[str, np.ndarray], keys: Sequence[str]) -> list[Body]:
    """The JSON bodies (dates as text) of drawn facts, one customer key each."""
    cols = {k: (np.datetime_as_string(v, unit="D") if v.dtype.kind == "M" else v).tolist()
            for k, v in facts.items()}
    return [{**{k: col[i] for k, col in cols.items()}, "customer_key": key}
            for i, key in enumerate(keys)]


class CustomerPool:
    """``size`` customers, each with fixed facts; a re-quote varies what a website
    visitor would try (power, brand of the car they consider), keeping who they are."""

    def __init__(self, size: int = 5000, seed: int = 7, at: dt.date | None = None) -> None:
        self.rng = random.Random(seed)
        self.at = at or today()
        facts = draw(size, np.random.default_rng(seed), self.at)
        self.customers = bodies(facts, [f"cust-{i:06d}" for i in range(size)])

    def quote(self) -> Body:
        """A valid request: a customer from the pool, sometimes with a changed car."""
        body = dict(self.rng.choice(self.customers))
        if self.rng.random() < 0.3:
            body["vehicle_power"] = self.rng.randint(4, 15)
            body["vehicle_brand"] = self.rng.choice(BRANDS)
        if self.rng.random() < 0.1:
            body.pop("customer_key")  # anonymous visitor: the router keys on the quote id
        return body

    def invalid(self) -> tuple[str, Body]:
        """(kind, body) of a request the API must refuse with 422."""
        kind, spoil = self.rng.choice(INVALID_KINDS)
        body = dict(self.rng.choice(self.customers))
        spoil(body, self.at)
        return kind, body


def _set(field: str, value: Any) -> Callable[[Body, dt.date], None]:
    def spoil(body: Body, at: dt.date) -> None:
        body[field] = value
    return spoil


def _under_age(at: dt.date) -> dt.date:
    return at - dt.timedelta(days=365 * (LEGAL_DRIVING_AGE - 1))


def _too_young(body: Body, at: dt.date) -> None:
    body["driver_birth_date"] = _under_age(at).isoformat()


def _born_after_quote(body: Body, at: dt.date) -> None:
    body["driver_birth_date"] = (at + dt.timedelta(days=3)).isoformat()


def _missing(body: Body, at: dt.date) -> None:
    body.pop("area")


# What real bad traffic looks like: typed-in out-of-range values, stale form fields,
# strings where numbers go, dates in local formats.
INVALID_KINDS: list[tuple[str, Callable[[Body, dt.date], None]]] = [
    ("driver_under_age", _too_young),
    ("born_after_quote", _born_after_quote),
    ("unknown_brand", _set("vehicle_brand", "B99")),
    ("unknown_area", _set("area", "Z")),
    ("bonus_malus_low", _set("bonus_malus", BONUS_MALUS_LOW)),
    ("power_high", _set("vehicle_power", POWER_HIGH)),
    ("power_as_string", _set("vehicle_power", "6")),
    ("date_local_format", _set("driver_birth_date", "12/04/1985")),
    ("missing_field", _missing),
    ("extra_field", _set("promo_code", "SUMMER")),
]


def book_table(n: int, seed: int, quote_date: dt.date, bad_share: float = 0.0,
               first_id: int = 0) -> pa.Table:
    """A book of ``n`` quote requests at ``quote_date``, typed (dates, integers) as a
    Parquet file holds them; ``bad_share`` of the rows break one business rule (under
    the legal age, bonus-malus or power outside the rated range), well typed."""
    import pyarrow as pa  # the batch extra

    rng = np.random.default_rng(seed)
    facts = draw(n, rng, quote_date)
    bad = np.flatnonzero(rng.random(n) < bad_share)
    kind = rng.integers(0, 3, len(bad))
    facts["bonus_malus"][bad[kind == 0]] = BONUS_MALUS_LOW
    facts["vehicle_power"][bad[kind == 1]] = POWER_HIGH
    facts["driver_birth_date"][bad[kind == 2]] = np.datetime64(_under_age(quote_date), "D")
    ids = np.arange(first_id, first_id + n)
    return pa.table({
        "policy_id": pa.array([f"P{i:09d}" for i in ids]),
        "driver_birth_date": pa.array(facts["driver_birth_date"], pa.date32()),
        "vehicle_first_registration_date": pa.array(
            facts["vehicle_first_registration_date"], pa.date32()),
        "vehicle_power": pa.array(facts["vehicle_power"], pa.int64()),
        "vehicle_brand": pa.array(facts["vehicle_brand"], pa.string()),
        "area": pa.array(facts["area"], pa.string()),
        "bonus_malus": pa.array(facts["bonus_malus"], pa.int64()),
        "customer_key": pa.array([f"cust-{i:06d}" for i in ids]),
        "quote_date": pa.repeat(pa.scalar(quote_date, pa.date32()), n),
    })


def write_book(path: Path, rows: int, seed: int = 0, quote_date: dt.date | None = None,
               bad_share: float = 0.001, chunk_rows: int = 200_000) -> Path:
    """Write a book of ``rows`` rows to .parquet or .csv, chunk by chunk (bounded memory)."""
    import pyarrow.csv as pacsv  # the batch extra
    import pyarrow.parquet as pq

    quote_date = quote_date or today()
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    try:
        for k, start in enumerate(range(0, rows, chunk_rows)):
            t = book_table(min(chunk_rows, rows - start), seed * 100_003 + k, quote_date,
                           bad_share, start)
            if writer is None:
                writer = (pq.ParquetWriter(path, t.schema) if path.suffix == ".parquet"
                          else pacsv.CSVWriter(path, t.schema))
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
    return path


def _dates_of_age(ages: np.ndarray, at: np.datetime64, rng: np.random.Generator) -> np.ndarray:
    """Dates exactly ``ages`` completed years before ``at`` (never 29 Feb for ``at``)."""
    y, m, d = split_dates(np.array([at]))
    year = y[0] - np.asarray(ages, dtype=np.int64) - 1
    # the anniversary a year too early, then 1..364 days later: completed years == ages
    anniversary = np.array([f"{yy:04d}-{m[0]:02d}-{d[0]:02d}" for yy in year],
                           dtype="datetime64[D]")
    return np.asarray(anniversary + rng.integers(1, 365, len(year)).astype("timedelta64[D]"))


def from_policies(frame: Any, quote_date: str, seed: int) -> list[Body]:
    """``POST /v1/quote`` bodies for the policies of a training frame (schema.py's
    columns: DrivAge, VehAge, VehPower, ...), dated so that the live derivation gives
    exactly the frame's DrivAge and VehAge."""
    at = np.datetime64(quote_date, "D")
    if str(at)[5:] == "02-29":
        raise ValueError("pick a quote date other than 29 February")
    rng = np.random.default_rng(seed)
    born = _dates_of_age(np.asarray(frame["DrivAge"]), at, rng).astype(str)
    registered = _dates_of_age(np.asarray(frame["VehAge"]), at, rng).astype(str)
    return [{"driver_birth_date": born[i], "vehicle_first_registration_date": registered[i],
             "vehicle_power": int(frame["VehPower"].iat[i]),
             "vehicle_brand": str(frame["VehBrand"].iat[i]), "area": str(frame["Area"].iat[i]),
             "bonus_malus": int(frame["BonusMalus"].iat[i]),
             "customer_key": f"synthetic-{seed}-{i}", "quote_date": quote_date}
            for i in range(len(frame))]


if __name__ == "__main__":
    import sys

    print(write_book(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000))
