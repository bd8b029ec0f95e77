"""The registry: immutable versions, stage moves, audit trail, tamper detection."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from quoteflow.registry import (
    ArtifactError,
    Registry,
    RegistryError,
    StageError,
    TamperedArtifactError,
    VersionExistsError,
)
from quoteflow.registry.store import REQUIRED_METADATA


def meta(**extra: Any) -> dict[str, Any]:
    return {k: f"<{k}>" for k in REQUIRED_METADATA} | extra


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    r = Registry(tmp_path)
    r.register("motor", b"onnx-1", meta())
    r.register("motor", b"onnx-2", meta())
    return r


def test_versions_are_numbered_and_metadata_completed(reg: Registry) -> None:
    assert reg.versions("motor") == ["1", "2"]
    mv = reg.get("motor", "2")
    assert mv.metadata["name"] == "motor" and mv.metadata["version"] == "2"
    assert mv.metadata["created_at"]
    assert mv.read_verified() == b"onnx-2"


def test_an_existing_version_is_never_overwritten(reg: Registry) -> None:
    with pytest.raises(VersionExistsError, match="version 1 already exists"):
        reg.register("motor", b"other", meta(), version="1")
    assert reg.get("motor", "1").read_verified() == b"onnx-1"


def test_files_are_read_only_and_extra_files_are_stored(tmp_path: Path) -> None:
    r = Registry(tmp_path)
    mv = r.register("motor", b"x", meta(), extra_files={"report.md": b"# r"})
    assert (mv.path / "report.md").read_bytes() == b"# r"
    for f in mv.path.iterdir():
        assert not os.stat(f).st_mode & 0o222, f
    with pytest.raises(ArtifactError, match="not allowed"):
        r.register("motor", b"x", meta(), extra_files={"model.onnx": b"evil"})
    assert r.versions("motor") == ["1"]  # the failed registration left nothing behind


def test_required_metadata_and_names_are_checked(tmp_path: Path) -> None:
    r = Registry(tmp_path)
    incomplete = meta()
    del incomplete["metrics"]
    with pytest.raises(ArtifactError, match="lacks metrics"):
        r.register("motor", b"x", incomplete)
    with pytest.raises(RegistryError, match="must match"):
        r.register("Motor!", b"x", meta())


def test_tampered_model_is_detected_on_load(reg: Registry) -> None:
    path = reg.get("motor", "1").onnx_path
    path.chmod(0o644)
    path.write_bytes(b"onnx-1 but changed")
    with pytest.raises(TamperedArtifactError, match=r"does not match metadata.*modified after"):
        reg.load("motor", "1")
    path.unlink()
    with pytest.raises(TamperedArtifactError, match="model file is missing"):
        reg.load("motor", "1")


def test_corrupt_metadata_is_detected(reg: Registry) -> None:
    path = reg.get("motor", "2").path / "metadata.json"
    path.chmod(0o644)
    path.write_text("{not json")
    with pytest.raises(TamperedArtifactError, match="not valid JSON"):
        reg.get("motor", "2")


def test_unknown_version_names_the_known_ones(reg: Registry) -> None:
    with pytest.raises(RegistryError, match=r"version 7 not found .*\(versions: 1, 2\)"):
        reg.get("motor", "7")


def test_stage_moves_and_audit_trail(reg: Registry) -> None:
    assert reg.stages("motor") == {"1": "None", "2": "None"}
    reg.move("motor", "1", "Staging", "alice", "validated")
    reg.move("motor", "1", "Production", "alice", "go live")
    reg.move("motor", "2", "Staging", "bob", "candidate")
    events = reg.move("motor", "2", "Production", "bob", "better deviance")
    # promoting archives the previous Production version, as its own event
    assert [(e["version"], e["from"], e["to"]) for e in events] == [
        ("1", "Production", "Archived"), ("2", "Staging", "Production")]
    assert reg.stages("motor") == {"1": "Archived", "2": "Production"}
    # rollback: promote the previous version again
    reg.move("motor", "1", "Production", "carol", "rollback: premiums off")
    assert reg.stages("motor") == {"1": "Production", "2": "Archived"}
    assert reg.resolve("motor@production").version == "1"
    trail = reg.audit("motor")
    assert len(trail) == 7
    assert all({"time", "model", "version", "from", "to", "actor", "reason"} <= set(e)
               for e in trail)
    assert trail[-1]["actor"] == "carol" and trail[-1]["reason"] == "rollback: premiums off"
    # the trail is append-only JSON lines: the state is its replay
    lines = (reg.root / "motor" / "audit.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == trail


def test_illegal_moves_are_refused(reg: Registry) -> None:
    with pytest.raises(StageError, match="is in None; it can move to Archived, Staging, "
                                         "not Production"):
        reg.move("motor", "1", "Production", "alice", "skip staging")
    with pytest.raises(StageError, match="unknown stage"):
        reg.move("motor", "1", "Live", "alice", "x")
    with pytest.raises(StageError, match="actor and a reason"):
        reg.move("motor", "1", "Staging", "alice", " ")
    with pytest.raises(RegistryError, match="not found"):
        reg.move("motor", "9", "Staging", "alice", "x")
    assert reg.audit("motor") == []
