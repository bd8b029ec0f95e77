"""Each policy's level of every rating factor, as a dislocation review groups them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quoteflow.products.motor import features

BONUS_MALUS_BANDS = ((50, 50), (51, 70), (71, 100), (101, 150), (151, 999))
# the reference bands have no dummy column: named here so every age has a level
DRIVER_BANDS = (*((lo, hi) for _, lo, hi in features.DRIVER_AGE_BANDS), (41, 50))
VEHICLE_BANDS = (*((lo, hi) for _, lo, hi in features.VEHICLE_AGE_BANDS), (1, 5))


def _band(values: np.ndarray, bands: tuple[tuple[int, int], ...]) -> np.ndarray:
    out = np.full(len(values), "other", dtype=object)
    for lo, hi in bands:
        label = f"{lo}" if lo == hi else f"{lo}+" if hi >= 999 else f"{lo}-{hi}"
        out[(values >= lo) & (values <= hi)] = label
    return out


def segments(book: pd.DataFrame, quote_dates: Any) -> dict[str, np.ndarray]:
    """``book``: the request fields of the priced rows (text or typed), ``quote_dates``
    each row's resolved quote date; ages at the quote date, as the live path derives."""
    at = pd.to_datetime(pd.Series(quote_dates)).to_numpy(dtype="datetime64[D]")
    born = pd.to_datetime(book["driver_birth_date"]).to_numpy(dtype="datetime64[D]")
    first = pd.to_datetime(book["vehicle_first_registration_date"]).to_numpy(
        dtype="datetime64[D]")
    return {
        "bonus_malus": _band(pd.to_numeric(book["bonus_malus"]).to_numpy(), BONUS_MALUS_BANDS),
        "driver_age": _band(features.ages_at(born, at), DRIVER_BANDS),
        "vehicle_age": _band(features.ages_at(first, at), VEHICLE_BANDS),
        "vehicle_power": pd.to_numeric(book["vehicle_power"]).to_numpy().astype(str),
        "area": book["area"].astype(str).to_numpy(),
        "vehicle_brand": book["vehicle_brand"].astype(str).to_numpy(),
    }
