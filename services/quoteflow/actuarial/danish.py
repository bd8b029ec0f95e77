"""The Danish fire losses 1980-1990: a loss-model study set for the severity machinery.

2,167 losses of 1 million DKK and more (fitdistrplus ``danishuni``), already at 1985
values. They test the fits (against R's), left truncation, the splice and CPI indexing;
no product prices with them. ``scripts/bootstrap.sh`` fetches the file from Debian
``r-cran-fitdistrplus``; ``$QUOTEFLOW_DATA_DIR`` overrides the folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR_ENV = "QUOTEFLOW_DATA_DIR"
# a flat table (100 for every year): danishuni is already at 1985 values (data/README.md)
CPI_TABLE = Path(__file__).resolve().parent / "data" / "cpi_dk.csv"
BASE_YEAR = 1985
REPORTING_THRESHOLD = 1_000_000.0  # DKK: only losses of 1M and more are in the file
TO_DKK = 1_000_000.0  # the file's amounts are in millions of DKK


def _repo_root() -> Path | None:
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for d in (start, *start.parents):
            if (d / "pyproject.toml").is_file() and (d / "services" / "quoteflow").is_dir():
                return d
    return None


def data_dir() -> Path:
    """$QUOTEFLOW_DATA_DIR, else <repo>/var/data, else ./var/data."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env)
    root = _repo_root()
    return (root if root is not None else Path.cwd()) / "var" / "data"


def danishuni_path() -> Path:
    path = data_dir() / "danishuni.rda"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: the Danish fire losses are missing; run `bash scripts/bootstrap.sh` "
            f"(it fetches them from Debian r-cran-fitdistrplus) or set ${DATA_DIR_ENV}")
    return path


def load(path: Path | None = None) -> pd.DataFrame:
    """The losses as claims: accident_year and amount in DKK."""
    import pyreadr

    frame = pyreadr.read_r(str(path or danishuni_path()))["danishuni"]
    years = pd.to_datetime(frame["Date"]).dt.year.to_numpy(dtype=np.int64)
    return pd.DataFrame({"accident_year": years,
                         "amount": frame["Loss"].to_numpy(dtype=np.float64) * TO_DKK})
