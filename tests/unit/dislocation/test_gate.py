"""The rollout's dislocation gate: a review is needed, and beyond the limits a sign-off."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from quoteflow.dislocation import gate, job
from quoteflow.registry import Registry

BASE = {"feature_schema_version": "1", "feature_names": [], "training_data_sha256": "0" * 64,
        "metrics": {}, "reference_histograms": {}, "library_versions": {}}


@pytest.fixture()
def registry(tmp_path: Path) -> Registry:
    reg = Registry(tmp_path / "registry")
    meta = {**BASE, "product": "motor",
            "pricing": {"dislocation_limits": {"over_10": 0.3}}}
    for _ in range(2):
        reg.register("motor", b"onnx bytes", dict(meta))
    return reg


def _review(reg: Registry, tmp_path: Path, within: bool) -> Path:
    folder = tmp_path / f"review-{within}"
    folder.mkdir()
    summary = folder / "summary.json"
    summary.write_text(json.dumps({"within_limits": within}))

    entry = {"model": "motor", "from": "1", "to": "2", "folder": str(folder),
             "summary_sha256": hashlib.sha256(summary.read_bytes()).hexdigest(),
             "within_limits": within, "breaches": [] if within else ["over_10: 50.0%"]}
    with job.reviews_path(reg, "motor").open("a") as f:
        f.write(json.dumps(entry) + "\n")
    return summary


def test_no_review_is_refused_with_what_to_do(registry: Registry) -> None:
    v = gate.check(registry, "motor", "1", "2")
    assert not v.allowed
    assert "no dislocation review of motor 1 -> 2" in v.message
    assert "quoteflow dislocation --from motor:1 --to motor:2 --book BOOK" in v.message


def test_within_the_limits_passes(registry: Registry, tmp_path: Path) -> None:
    _review(registry, tmp_path, within=True)
    assert gate.check(registry, "motor", "1", "2").allowed


def test_beyond_the_limits_needs_a_recorded_sign_off(registry: Registry,
                                                      tmp_path: Path) -> None:
    summary = _review(registry, tmp_path, within=False)
    v = gate.check(registry, "motor", "1", "2")
    assert not v.allowed and "beyond the limits (over_10: 50.0%)" in v.message
    assert not gate.check(registry, "motor", "1", "2", summary, None, "actuary").allowed
    other = tmp_path / "forged.json"
    other.write_text("{}")
    assert "is not a recorded review" in gate.check(registry, "motor", "1", "2", other,
                                                    "ok", "actuary").message
    v = gate.check(registry, "motor", "1", "2", summary, "pricing committee 2026-12", "actuary")
    assert v.allowed
    [event] = [e for e in registry.audit("motor") if e.get("event") == "dislocation_accepted"]
    assert event["version"] == "2" and event["actor"] == "actuary"
    assert event["evidence"]["from"] == "1"
    # a sign-off is not a stage move
    assert registry.stages("motor") == {"1": "None", "2": "None"}


def test_a_product_without_limits_has_no_gate(registry: Registry) -> None:
    reg = Registry(registry.root.parent / "other")
    meta = {**BASE, "product": "claims"}
    for _ in range(2):
        reg.register("claims", b"onnx", dict(meta))
    assert gate.check(reg, "claims", "1", "2").allowed
