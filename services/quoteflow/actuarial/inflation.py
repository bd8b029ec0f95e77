"""Claim amounts indexed by accident year to a base year, from a CPI table shipped as data.

indexed = amount * index[base_year] / index[accident_year]. A year missing from the
table is an error unless the caller chose a policy for it explicitly ("nearest":
the index of the closest year in the table, the earlier one on a tie).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from quoteflow.actuarial.errors import DataError

MissingIndex = Literal["error", "nearest"]
MISSING_INDEX_POLICIES: tuple[str, ...] = ("error", "nearest")


class IndexingError(ValueError):
    pass


@dataclass(frozen=True)
class CpiTable:
    index: dict[int, float]
    source: str

    @classmethod
    def load(cls, path: Path) -> CpiTable:
        """CSV with columns year (int) and index (> 0); lines starting with # are comments."""
        try:
            frame = pd.read_csv(path, comment="#", dtype=str, skipinitialspace=True)
        except (pd.errors.EmptyDataError, FileNotFoundError) as e:
            raise DataError(f"{path}: CPI table is missing or empty") from e
        for col in ("year", "index"):
            if col not in frame.columns:
                raise DataError(f"{path}: missing column {col!r}; found {list(frame.columns)}")
        if len(frame) == 0:
            raise DataError(f"{path}: the CPI table has no rows")
        years = pd.to_numeric(frame["year"], errors="coerce")
        values = pd.to_numeric(frame["index"], errors="coerce")
        bad = (years.isna() | (years % 1 != 0)).to_numpy()
        if bad.any():
            raise DataError(f"{path}: column 'year' is not a whole number at rows "
                            f"{list(np.flatnonzero(bad)[:5] + 1)}")
        bad = (values.isna() | (values <= 0)).to_numpy()
        if bad.any():
            raise DataError(f"{path}: column 'index' is not a positive number at rows "
                            f"{list(np.flatnonzero(bad)[:5] + 1)}")
        dup = years.duplicated().to_numpy()
        if dup.any():
            raise DataError(f"{path}: column 'year' repeats years "
                            f"{sorted(set(years[dup].astype(int)))}")
        return cls(dict(zip(years.astype(int), values.astype(float), strict=True)), str(path))


@dataclass
class IndexingSummary:
    base_year: int
    source: str
    policy: str
    claims_by_year: dict[int, int]
    factor_by_year: dict[int, float]
    # accident year -> the table year used in its place (policy "nearest" only)
    substituted: dict[int, int] = field(default_factory=dict)


def index_amounts(amounts: np.ndarray, years: np.ndarray, cpi: CpiTable, base_year: int,
                  missing: MissingIndex = "error") -> tuple[np.ndarray, IndexingSummary]:
    """Amounts in base-year money, and what was done to get there."""
    if missing not in MISSING_INDEX_POLICIES:
        raise ValueError(f"missing-index policy must be one of {MISSING_INDEX_POLICIES}")
    if base_year not in cpi.index:
        raise IndexingError(f"{cpi.source}: no index for the base year {base_year}; the table "
                            f"covers {min(cpi.index)}-{max(cpi.index)}")
    years = np.asarray(years, dtype=np.int64)
    uniq, counts = np.unique(years, return_counts=True)
    absent = [int(y) for y in uniq if int(y) not in cpi.index]
    substituted: dict[int, int] = {}
    if absent:
        if missing == "error":
            detail = ", ".join(f"{y} ({int(counts[uniq == y][0])} claims)" for y in absent)
            raise IndexingError(
                f"{cpi.source}: no index for accident year(s) {detail}; the table covers "
                f"{min(cpi.index)}-{max(cpi.index)}. Extend the table or pass an explicit "
                "policy (--missing-index nearest)")
        known = np.array(sorted(cpi.index))
        for y in absent:
            substituted[y] = int(known[np.argmin(np.abs(known - y))])  # argmin: earlier on tie
    factors = {int(y): cpi.index[base_year] / cpi.index[substituted.get(int(y), int(y))]
               for y in uniq}
    factor = np.array([factors[int(y)] for y in years], dtype=np.float64)
    summary = IndexingSummary(base_year, cpi.source, missing,
                              {int(y): int(c) for y, c in zip(uniq, counts, strict=True)},
                              factors, substituted)
    return np.asarray(amounts, dtype=np.float64) * factor, summary
