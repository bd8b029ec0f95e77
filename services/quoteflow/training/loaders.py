"""Reading policies and claims (CSV or Parquet; the shipped real data) into the schema.

Every file goes through ``schema.validate_*``; the shipped data sets are no exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from quoteflow.products.motor import features
from quoteflow.training.schema import DataError, validate_claims, validate_policies

# danishuni amounts are in millions of DKK (fitdistrplus docs); pricing is in DKK.
DANISHUNI_TO_DKK = 1_000_000.0


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


def load_danishuni(path: Path) -> pd.DataFrame:
    """The Danish fire losses as claims (accident_year, amount in DKK)."""
    import pyreadr

    frame = pyreadr.read_r(str(path))["danishuni"]
    claims = pd.DataFrame({"accident_date": frame["Date"].astype(str),
                           "amount": frame["Loss"].astype(np.float64) * DANISHUNI_TO_DKK})
    return validate_claims(claims, str(path))


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
