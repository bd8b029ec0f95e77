"""Each service's extra, installed alone in a fresh venv, serves what it promises.

A fresh venv per extra (no system site-packages), the project installed from this
tree with pip, then the modules that extra serves are imported and its command runs.
Catches a serving module that imports a dependency of another extra (batch importing
FastAPI used to lose `quoteflow score` without a word).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# extra -> (modules it serves, a command it gives, a command of another extra)
EXTRAS = {
    "batch": (["quoteflow.batch.job", "quoteflow.products.motor.batch"], ["score", "--help"],
              ("serve", "service")),
    "preprocess": (["quoteflow.preprocess.app"], ["serve", "--help"], ("score", "batch")),
    "inference": (["quoteflow.inference.app"], ["serve", "--help"], ("score", "batch")),
    "router": (["quoteflow.router.app"], ["traffic", "--help"], ("score", "batch")),
    "desk": (["quoteflow.desk.web.app"], ["desk", "--help"], ("score", "batch")),
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # from a copy of the tracked (and new, unignored) files: a stale egg-info or build/
    # in the working tree would add files the package-data globs miss, as a clean
    # clone (CI, an image build) would not
    src = tmp_path_factory.mktemp("source")
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, files):
        path = ROOT / name.decode()
        if path.is_file():
            (src / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, src / name.decode())
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(src)], check=True, timeout=300)
    return next(out.glob("quoteflow-*.whl"))


@pytest.mark.parametrize("extra", sorted(EXTRAS))
def test_extra_alone_serves_its_modules(extra: str, wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # --no-compile: byte-compiling numpy, pandas and the rest took a third of each install
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-compile",
                    f"{wheel}[{extra}]"], check=True, timeout=600)
    modules, command, (other, other_extra) = EXTRAS[extra]
    subprocess.run([str(py), "-c", "import " + ", ".join(modules)], check=True, timeout=60)
    ok = subprocess.run([str(env_dir / "bin" / "quoteflow"), *command], capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    # a command whose extra is missing says so instead of vanishing
    missing = subprocess.run([str(env_dir / "bin" / "quoteflow"), other, "x"],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0
    assert "unavailable" in missing.stderr and f"quoteflow[{other_extra}]" in missing.stderr
    listed = subprocess.run([str(env_dir / "bin" / "quoteflow"), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and other in listed.stdout


def test_wheel_carries_every_data_file(wheel: Path) -> None:
    """Every non-Python file the package reads (configs, CSVs, templates...) is in the
    wheel: a missing glob in package-data only shows up in an image otherwise."""
    import zipfile

    pkg = ROOT / "services"
    wanted = {str(p.relative_to(pkg)) for p in (pkg / "quoteflow").rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc", ".md")
              and "__pycache__" not in p.parts}
    shipped = set(zipfile.ZipFile(wheel).namelist())
    assert wanted, "no data files found: the test looks in the wrong place"
    assert sorted(wanted - shipped) == []
