"""`quoteflow dislocation` on a real book and the real models: the review's files, its
verdict against the product's limits, and its record in the registry (issue 26)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from quoteflow.dislocation import job
from quoteflow.products.motor.requests import write_book
from quoteflow.registry import Registry


def test_a_review_is_written_and_recorded(trained_registry: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(trained_registry / "motor", registry / "motor")
    book = write_book(tmp_path / "book.csv", 3_000, seed=4)
    out = tmp_path / "review"
    done = subprocess.run(
        [sys.executable, "-m", "quoteflow.cli", "dislocation", "--from", "motor:1",
         "--to", "motor:2", "--book", str(book), "--out", str(out), "--registry",
         str(registry)], capture_output=True, text=True, timeout=300)
    print(done.stdout, done.stderr[-2000:])
    summary = json.loads((out / "summary.json").read_text())
    # the exit code says the verdict: 0 within the product's limits, 3 beyond them
    assert done.returncode == (0 if summary["within_limits"] else 3), done.stderr
    assert summary["limits"] == {"over_10": 0.30, "over_25": 0.10}  # motor's config
    assert summary["policies"] + summary["rejected"] == 3_000 and summary["policies"] > 2_900
    assert set(summary["by_segment"]) == {"bonus_malus", "driver_age", "vehicle_age",
                                          "vehicle_power", "area", "vehicle_brand"}
    for rows in summary["by_segment"].values():
        assert sum(r["policies"] for r in rows) == summary["policies"]
    assert len(summary["largest"]) == 10
    report = (out / "report.md").read_text()
    assert "# Dislocation review: motor 1 -> 2" in report and "## By bonus_malus" in report
    for png in ("change_histogram.png", "change_by_segment.png"):
        assert (out / png).read_bytes()[:4] == b"\x89PNG"
    [entry] = job.recorded(Registry(registry), "motor")
    assert (entry["from"], entry["to"]) == ("1", "2")
    assert entry["within_limits"] == summary["within_limits"]
    assert f"moving by more than 10%: up {summary['shares']['up_10']:6.1%}" in done.stdout


def test_two_models_or_a_missing_book_are_refused(trained_registry: Path,
                                                  tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "quoteflow.cli", "dislocation", "--from", "motor:1",
         "--to", "motor:2", "--book", str(tmp_path / "absent.csv"), "--registry",
         str(trained_registry)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "absent.csv: no such file" in done.stderr
