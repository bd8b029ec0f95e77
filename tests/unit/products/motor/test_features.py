"""The one feature derivation: ages at the quote date, encoding, domain checks."""

from __future__ import annotations

import numpy as np

from quoteflow.products.motor import features as f


def days(*values: str) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


def test_ages_are_completed_years_at_the_quote_date() -> None:
    born = days("1980-02-29", "1980-02-29", "2000-06-15", "2000-06-15", "2000-06-15")
    at = days("2025-02-28", "2025-03-01", "2025-06-14", "2025-06-15", "2025-12-31")
    assert f.ages_at(born, at).tolist() == [44, 45, 24, 25, 25]


def test_design_matrix_columns_follow_the_schema() -> None:
    x = f.design_matrix(np.array([22, 45]), np.array([0, 12]), np.array([6, 9]),
                        np.array([50, 100]), np.array(["A", "E"], dtype=object),
                        np.array(["B12", "B3"], dtype=object))
    assert x.shape == (2, f.N_FEATURES) and x.dtype == np.float32
    row = dict(zip(f.FEATURE_NAMES, x[1].tolist(), strict=True))
    assert row["driver_age"] == 45 and row["area_code"] == 5 and row["brand_B3"] == 1
    assert sum(v for k, v in row.items() if k.startswith("driver_age_")) == 0  # 41-50: reference
    assert row["vehicle_age_11_plus"] == 1
    first = dict(zip(f.FEATURE_NAMES, x[0].tolist(), strict=True))
    assert first["driver_age_18_25"] == 1 and first["vehicle_age_0"] == 1
    assert sum(v for k, v in first.items() if k.startswith("brand_")) == 0  # B12: reference


def test_quote_errors_name_the_field_and_the_rule() -> None:
    q = f.QuoteColumns(
        driver_birth_date=days("2010-01-01", "1980-01-01"),
        vehicle_first_registration_date=days("2020-01-01", "2030-01-01"),
        quote_date=days("2025-01-01", "2025-01-01"),
        vehicle_power=np.array([6, 40]), bonus_malus=np.array([50, 20]),
        area=np.array(["A", "Q"], dtype=object), vehicle_brand=np.array(["B1", "B1"], dtype=object))
    errors = f.quote_errors(q, np.datetime64("2025-01-01"))
    assert [(r, fld) for r, fld, _ in errors] == [
        (0, "driver_birth_date"), (1, "vehicle_first_registration_date"), (1, "vehicle_power"),
        (1, "bonus_malus"), (1, "area")]
    assert "under the legal age of 18" in errors[0][2]


def test_live_and_batch_derive_the_same_vector() -> None:
    """One implementation: a row derived alone equals the same row derived in a batch."""
    rng = np.random.default_rng(0)
    n = 500
    born = np.datetime64("1940-01-01") + rng.integers(0, 20000, n).astype("timedelta64[D]")
    reg = np.datetime64("1980-01-01") + rng.integers(0, 16000, n).astype("timedelta64[D]")
    q = f.QuoteColumns(born, reg, np.full(n, np.datetime64("2025-06-01")),
                       rng.integers(4, 16, n), rng.integers(50, 157, n),
                       rng.choice(list(f.AREAS), n).astype(object),
                       rng.choice(list(f.BRANDS), n).astype(object))
    ok = np.ones(n, bool)
    for i, _, _ in f.quote_errors(q, np.datetime64("2025-06-01")):
        ok[i] = False
    idx = np.flatnonzero(ok)
    batch = f.quote_features(f.QuoteColumns(*(getattr(q, k)[idx] for k in q.__dataclass_fields__)))
    for j, i in enumerate(idx[:50]):
        single = f.quote_features(f.QuoteColumns(
            *(getattr(q, k)[i:i + 1] for k in q.__dataclass_fields__)))
        assert np.array_equal(single[0], batch[j])
