"""Reading policies and claims (CSV or Parquet; the shipped real data) into the schema.

Every file goes through ``schema.validate_*``; the shipped data sets are no exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quoteflow.actuarial.errors import DataError
from quoteflow.products.motor import features
from quoteflow.products.motor.training.schema import validate_claims, validate_policies


def read_table(path: Path) -> pd.DataFrame:
    """A CSV (read as text, so that types are checked by us) or Parquet file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except pd.errors.EmptyDataError as e:
        raise DataError(f"{path}: the file is empty") from e
    except (ValueError, OSError) as e:  # malformed CSV, not a Parquet file, ...
        raise DataError(f"{path}: cannot be read as {suffix[1:]}: {e}") from e
    raise DataError(f"{path}: unsupported file type {suffix!r}; use .csv or .parquet")


def load_policies(path: Path) -> pd.DataFrame:
    return validate_policies(read_table(path), str(path))


def load_claims(path: Path) -> pd.DataFrame:
    return validate_claims(read_table(path), str(path))


def load_fremtpl2sev(path: Path) -> pd.DataFrame:
    """freMTPL2sev (IDpol, ClaimAmount in EUR) as claims: amount; no accident date, so
    accident_year is absent and the amounts are taken at the portfolio's own values."""
    frame = read_table(path)
    missing = [c for c in ("IDpol", "ClaimAmount") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; found {list(frame.columns)}")
    amounts = pd.to_numeric(frame["ClaimAmount"], errors="coerce")
    bad = (amounts.isna() | ~(amounts > 0)).to_numpy()
    if bad.any():
        raise DataError(f"{path}: column 'ClaimAmount' is not a positive number at rows "
                        f"{[int(i) for i in np.flatnonzero(bad)[:5] + 1]}")
    return pd.DataFrame({"amount": amounts.to_numpy(dtype=np.float64)})


@dataclass(frozen=True)
class DomainFilter:
    kept: pd.DataFrame
    rows_read: int
    dropped: int
    # reason (a features.domain_errors key) -> rows failing it; a row may fail several
    by_reason: dict[str, int]


def filter_domain(policies: pd.DataFrame) -> DomainFilter:
    """Drop rows outside features.DOMAIN, counting them by reason (never silently)."""
    masks = features.domain_errors(
        policies["DrivAge"].to_numpy(), policies["VehAge"].to_numpy(),
        policies["VehPower"].to_numpy(), policies["BonusMalus"].to_numpy(),
        policies["Area"].to_numpy(dtype=object), policies["VehBrand"].to_numpy(dtype=object))
    out = np.zeros(len(policies), dtype=bool)
    for m in masks.values():
        out |= m
    by_reason = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    return DomainFilter(policies[~out].reset_index(drop=True), len(policies), int(out.sum()),
                        by_reason)


def design(policies: pd.DataFrame) -> np.ndarray:
    """features.design_matrix of in-domain policies (float32, FEATURE_NAMES columns)."""
    return features.design_matrix(
        policies["DrivAge"].to_numpy(), policies["VehAge"].to_numpy(),
        policies["VehPower"].to_numpy(), policies["BonusMalus"].to_numpy(),
        policies["Area"].to_numpy(dtype=object), policies["VehBrand"].to_numpy(dtype=object))
