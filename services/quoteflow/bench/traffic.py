"""Quote traffic for load tests: a pool of customers who re-quote, and bad requests.

Shared by the Locust file and the benchmark so both send the same kind of load.
Plain Python (no numpy/pyarrow): Locust workers import it. Marginals are rough
freMTPL shapes spread over every age band, brand and area, so that Blue (GLM) and
Green (boosting) disagree in varied ways and shadow comparison has something to see.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from quoteflow.products.motor.features import AREAS, BRANDS, DOMAIN, LEGAL_DRIVING_AGE

AREA_W = (0.05, 0.11, 0.28, 0.32, 0.24)
BRAND_W = (0.26, 0.22, 0.08, 0.04, 0.05, 0.04, 0.31)
Body = dict[str, Any]


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _years_ago(at: dt.date, years: float, rng: random.Random) -> dt.date:
    # a random day within that year of age: ages land on every band boundary
    return at - dt.timedelta(days=int(years * 365.25) + rng.randrange(0, 365))


class CustomerPool:
    """``size`` customers, each with fixed facts; a re-quote varies what a website
    visitor would try (power, brand of the car they consider), keeping who they are."""

    def __init__(self, size: int = 5000, seed: int = 7, at: dt.date | None = None) -> None:
        self.rng = random.Random(seed)
        self.at = at or today()
        self.customers = [self._customer(i) for i in range(size)]

    def _customer(self, i: int) -> Body:
        r = self.rng
        age = min(max(r.gammavariate(4.0, 6.0) + 18.2, 18.2), DOMAIN["driver_age"].high - 1)
        vehicle_age = min(r.expovariate(1 / 6.5), 40.0)
        return {
            "driver_birth_date": _years_ago(self.at, age, r).isoformat(),
            "vehicle_first_registration_date": min(
                _years_ago(self.at, vehicle_age, r), self.at).isoformat(),
            "vehicle_power": min(4 + int(r.expovariate(1 / 2.5)), 15),
            "vehicle_brand": r.choices(BRANDS, BRAND_W)[0],
            "area": r.choices(AREAS, AREA_W)[0],
            "bonus_malus": 50 if r.random() < 0.6 else r.randint(50, 156),
            "customer_key": f"cust-{i:06d}",
        }

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


def _too_young(body: Body, at: dt.date) -> None:
    body["driver_birth_date"] = (at - dt.timedelta(days=365 * (LEGAL_DRIVING_AGE - 1))).isoformat()


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
    ("bonus_malus_low", _set("bonus_malus", 40)),
    ("power_high", _set("vehicle_power", 30)),
    ("power_as_string", _set("vehicle_power", "6")),
    ("date_local_format", _set("driver_birth_date", "12/04/1985")),
    ("missing_field", _missing),
    ("extra_field", _set("promo_code", "SUMMER")),
]
