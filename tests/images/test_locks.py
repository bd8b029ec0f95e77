"""The locks match pyproject.toml, pin everything with hashes, and are what bootstrap.sh
and every Dockerfile stage install from. Regenerate with `python scripts/lock.py`."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from tests.chart.chartlib import ROOT

spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
assert spec is not None and spec.loader is not None
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)

ALL = (*lock.EXTRAS, *lock.EXTRA_LOCKS)
REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+) \\$")


def recorded_digest(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith(lock.DIGEST_KEY):
            return str(line.removeprefix(lock.DIGEST_KEY))
    raise AssertionError(f"{path}: no '{lock.DIGEST_KEY.strip()}' header line")


def test_every_lock_matches_pyproject() -> None:
    want = lock.pyproject_digest()
    stale = [n for n in ALL if recorded_digest(ROOT / "locks" / f"{n}.txt") != want]
    assert not stale, (f"locks {stale} are out of date with pyproject.toml's dependencies: "
                       "run `python scripts/lock.py` and commit locks/")


def test_a_changed_dependency_is_noticed(tmp_path: Path) -> None:
    edited = tmp_path / "pyproject.toml"
    edited.write_text((ROOT / "pyproject.toml").read_text().replace(
        '"orjson>=3.10"', '"orjson>=3.11"'))
    assert lock.pyproject_digest(edited) != lock.pyproject_digest()


def test_every_package_is_pinned_with_a_hash() -> None:
    for name in ALL:
        lines = (ROOT / "locks" / f"{name}.txt").read_text().splitlines()
        reqs = [i for i, line in enumerate(lines) if line and line[0].isalnum()]
        assert reqs, name
        for i in reqs:
            assert REQ.match(lines[i]), f"locks/{name}.txt: not an exact pin: {lines[i]}"
            assert lines[i + 1].strip().startswith("--hash=sha256:"), lines[i]
        assert not any(REQ.match(lines[i]).group(1) == "quoteflow" for i in reqs)  # type: ignore[union-attr]


def test_bootstrap_and_every_dockerfile_stage_install_from_the_locks() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for name in ("build", "preprocess", "inference", "router", "training", "data"):
        assert f"locks/{name}.txt" in dockerfile, name
    installs = re.findall(r"pip install [^\n]*", dockerfile)
    for cmd in installs:  # either from a lock with hashes, or our own wheel without deps
        assert "--require-hashes" in cmd or "--no-deps /tmp/wheels/" in cmd, cmd
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "--require-hashes -r locks/dev.txt" in bootstrap
    assert "--no-deps --no-build-isolation -e ." in bootstrap
    assert "!locks/" in (ROOT / ".dockerignore").read_text()
