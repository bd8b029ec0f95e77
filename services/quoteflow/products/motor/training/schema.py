"""The documented schema of policies and claims files, and its validation.

Policies (one row per policy and period; the freMTPL2freq column names, so that the
shipped freMTPLmini and a user's own file go through the same checks):

=========== ====== ============================================================
column      type   meaning
=========== ====== ============================================================
Area        str    area code A (rural) .. E (dense urban)
BonusMalus  int    French bonus-malus coefficient x100 (50 = best)
DrivAge     int    driver age in completed years
VehAge      int    vehicle age in completed years
VehBrand    str    vehicle brand code (B1 .. B14)
VehPower    int    fiscal horsepower
ClaimNb     int    number of claims in the period, >= 0
Exposure    float  length of the period in years, > 0
=========== ====== ============================================================

Claims (one row per claim):

============== ====== =========================================================
column         type   meaning
============== ====== =========================================================
accident_date  date   ISO date (YYYY-MM-DD) of the accident; or instead
accident_year  int    the accident year, when dates are not known
amount         float  claim amount in the pricing currency (the config's
                      ``pricing.currency``), > 0, nominal (money of the accident
                      year): indexed to ``pricing.base_year`` with ``--cpi``
============== ====== =========================================================

The shipped claims (freMTPL2sev: ``IDpol``, ``ClaimAmount`` in EUR) carry no accident
date; they are read by ``loaders.load_fremtpl2sev`` as amounts at the portfolio's own
values (c. 2011-2013, ``pricing.base_year`` 2012), not indexed.

Other columns are ignored. A file that breaks the schema is refused as a whole
(``DataError`` naming the file, the column and the first bad rows); values that are
well-formed but outside the rating domain (features.DOMAIN) are not errors: training
filters those rows and counts them, by reason, in its report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from quoteflow.actuarial.errors import DataError

Kind = Literal["int", "float", "str", "date"]
SHOW_ROWS = 5




@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    description: str
    # (lower bound, inclusive?) for numeric columns
    minimum: float | None = None
    inclusive: bool = True


POLICY_COLUMNS: tuple[Column, ...] = (
    Column("Area", "str", "area code A (rural) .. E (dense urban)"),
    Column("BonusMalus", "int", "bonus-malus coefficient x100"),
    Column("DrivAge", "int", "driver age, completed years"),
    Column("VehAge", "int", "vehicle age, completed years"),
    Column("VehBrand", "str", "vehicle brand code"),
    Column("VehPower", "int", "fiscal horsepower"),
    Column("ClaimNb", "int", "claims in the period", minimum=0),
    Column("Exposure", "float", "period length in years", minimum=0, inclusive=False),
)
CLAIM_AMOUNT = Column("amount", "float", "claim amount", minimum=0, inclusive=False)
CLAIM_DATE = Column("accident_date", "date", "accident date")
CLAIM_YEAR = Column("accident_year", "int", "accident year")


def _rows(mask: np.ndarray) -> str:
    # 1-based data rows (the header is not counted), as a spreadsheet user counts them
    bad = np.flatnonzero(mask) + 1
    shown = ", ".join(str(r) for r in bad[:SHOW_ROWS])
    more = f" and {len(bad) - SHOW_ROWS} more" if len(bad) > SHOW_ROWS else ""
    return f"rows {shown}{more} (1-based, header not counted)"


def _fail(source: str, column: str, problem: str, mask: np.ndarray,
          values: pd.Series | None = None) -> DataError:
    examples = ""
    if values is not None:
        first = np.flatnonzero(mask)[:3]
        examples = "; values: " + ", ".join(repr(values.iloc[i]) for i in first)
    return DataError(f"{source}: column {column!r} {problem} at {_rows(mask)}{examples}")


def coerce(frame: pd.DataFrame, col: Column, source: str) -> pd.Series:
    """The column converted to its type; any value that does not convert is an error."""
    raw = frame[col.name]
    missing = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    if col.kind == "str":
        if missing.any():
            raise _fail(source, col.name, "is empty", missing)
        return raw.astype(str).str.strip()
    if col.kind == "date":
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601")
        bad = parsed.isna().to_numpy()
        if bad.any():
            raise _fail(source, col.name, "is not an ISO date (YYYY-MM-DD)", bad, raw)
        return parsed
    # Booleans would pass as 0/1; a number column holding them is a wrong type.
    if pd.api.types.is_bool_dtype(raw):
        raise _fail(source, col.name, f"holds booleans, expected {col.kind}",
                    np.ones(len(raw), bool))
    values = pd.to_numeric(raw, errors="coerce").astype(np.float64)
    arr = values.to_numpy()
    bad = ~np.isfinite(arr)
    if bad.any():
        what = "is missing" if missing[bad].all() else f"is not a number ({col.kind})"
        raise _fail(source, col.name, what, bad, raw)
    if col.kind == "int":
        frac = arr != np.round(arr)
        if frac.any():
            raise _fail(source, col.name, "is not a whole number", frac, raw)
    if col.minimum is not None:
        low = arr < col.minimum if col.inclusive else arr <= col.minimum
        if low.any():
            word = "negative" if col.minimum == 0 and col.inclusive else (
                "not positive" if col.minimum == 0 else f"below {col.minimum:g}")
            raise _fail(source, col.name, f"is {word}", low, raw)
    return values.astype(np.int64) if col.kind == "int" else values


def require(frame: pd.DataFrame, names: list[str], source: str) -> None:
    if len(frame) == 0:
        raise DataError(f"{source}: the file has no data rows")
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise DataError(f"{source}: missing column(s) {', '.join(map(repr, missing))}; "
                        f"found {', '.join(map(repr, frame.columns))}")


def validate_policies(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Typed policies (POLICY_COLUMNS, in that order) or DataError."""
    require(frame, [c.name for c in POLICY_COLUMNS], source)
    out = pd.DataFrame({c.name: coerce(frame, c, source) for c in POLICY_COLUMNS})
    return out.reset_index(drop=True)


def validate_claims(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Typed claims with columns accident_year (int) and amount (float), or DataError."""
    if len(frame) and CLAIM_DATE.name not in frame.columns \
            and CLAIM_YEAR.name in frame.columns:
        require(frame, [CLAIM_YEAR.name, CLAIM_AMOUNT.name], source)
        years = coerce(frame, CLAIM_YEAR, source)
    else:
        if len(frame) and CLAIM_DATE.name not in frame.columns:
            raise DataError(f"{source}: missing column 'accident_date' (or 'accident_year'); "
                            f"found {', '.join(map(repr, frame.columns))}")
        require(frame, [CLAIM_DATE.name, CLAIM_AMOUNT.name], source)
        years = coerce(frame, CLAIM_DATE, source).dt.year.astype(np.int64)
    amounts = coerce(frame, CLAIM_AMOUNT, source)
    return pd.DataFrame({"accident_year": years.to_numpy(),
                         "amount": amounts.to_numpy()})
