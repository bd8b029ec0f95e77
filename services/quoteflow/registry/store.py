"""A directory-backed model registry.

Layout (the same keys work on object storage later)::

    <root>/<name>/<version>/model.onnx
    <root>/<name>/<version>/metadata.json
    <root>/<name>/audit.jsonl          one JSON line per stage move, append-only

A version is immutable: it is written to a temporary folder and renamed into
place, and an existing version is never overwritten. The stage of a version is
not stored anywhere else than in the audit trail: it is the replay of the moves,
so the trail and the state cannot disagree.

Artifact contract: ``model.onnx`` follows its product's ModelIO (``metadata["product"]``
names the product; inference checks the graph against it at load) and
``metadata.json`` holds ``onnx_sha256``, checked on every load. What the product
needs beyond the keys below (motor: ``pricing``) the product checks itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGES = ("None", "Staging", "Production", "Archived")
# Allowed moves; rollback is Archived -> Production like any other promotion.
TRANSITIONS: dict[str, set[str]] = {
    "None": {"Staging", "Archived"},
    "Staging": {"Production", "Archived"},
    "Production": {"Archived"},
    "Archived": {"Staging", "Production"},
}
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
REQUIRED_METADATA = (
    "feature_schema_version", "feature_names", "training_data_sha256", "metrics",
    "reference_histograms", "library_versions",
)


class RegistryError(Exception):
    """Base of every registry error; the message says what and where."""


class VersionExistsError(RegistryError):
    pass


class TamperedArtifactError(RegistryError):
    pass


class ArtifactError(RegistryError):
    pass


class StageError(RegistryError):
    pass


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    path: Path
    metadata: dict[str, Any]

    @property
    def onnx_path(self) -> Path:
        return self.path / "model.onnx"

    @property
    def sha256(self) -> str:
        return str(self.metadata["onnx_sha256"])

    def read_verified(self) -> bytes:
        """The ONNX bytes, after checking them against the recorded sha256."""
        try:
            data = self.onnx_path.read_bytes()
        except FileNotFoundError as e:
            raise TamperedArtifactError(f"{self.onnx_path}: model file is missing") from e
        actual = sha256_bytes(data)
        if actual != self.sha256:
            raise TamperedArtifactError(
                f"{self.onnx_path}: sha256 {actual} does not match metadata {self.sha256}; "
                "the artifact was modified after registration"
            )
        return data


class Registry:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # --- versions -------------------------------------------------------------------

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME_RE.match(p.name))

    def versions(self, name: str) -> list[str]:
        d = self.root / name
        if not d.is_dir():
            return []
        return sorted((p.name for p in d.iterdir() if p.is_dir() and p.name.isdigit()), key=int)

    def get(self, name: str, version: str) -> ModelVersion:
        path = self.root / name / str(version)
        meta_path = path / "metadata.json"
        if not meta_path.is_file():
            known = ", ".join(self.versions(name)) or "none"
            raise RegistryError(f"model {name} version {version} not found in {self.root} "
                                f"(versions: {known})")
        try:
            metadata = json.loads(meta_path.read_text())
        except json.JSONDecodeError as e:
            raise TamperedArtifactError(f"{meta_path}: not valid JSON ({e})") from e
        return ModelVersion(name, str(version), path, metadata)

    def register(self, name: str, onnx_bytes: bytes, metadata: dict[str, Any],
                 version: str | None = None,
                 extra_files: dict[str, bytes] | None = None) -> ModelVersion:
        """Store a new immutable version (next integer unless given); never overwrites.

        ``extra_files`` (the training report and its plots) are stored beside the
        model, read-only like it.
        """
        if not NAME_RE.match(name):
            raise RegistryError(f"model name {name!r} must match {NAME_RE.pattern}")
        missing = [k for k in REQUIRED_METADATA if k not in metadata]
        if missing:
            raise ArtifactError(f"metadata for {name} lacks {', '.join(missing)}")
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        with self._lock(name):
            if version is None:
                existing = self.versions(name)
                version = str(int(existing[-1]) + 1) if existing else "1"
            if not str(version).isdigit():
                raise RegistryError(f"version {version!r} must be a positive integer")
            target = base / str(version)
            if target.exists():
                raise VersionExistsError(
                    f"model {name} version {version} already exists at {target}; "
                    "versions are immutable: register a new version instead")
            meta = dict(metadata)
            meta.update(name=name, version=str(version), onnx_sha256=sha256_bytes(onnx_bytes),
                        created_at=meta.get("created_at") or _now())
            tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=base))
            try:
                (tmp / "model.onnx").write_bytes(onnx_bytes)
                (tmp / "metadata.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
                for fname, data in (extra_files or {}).items():
                    if "/" in fname or fname in ("model.onnx", "metadata.json"):
                        raise ArtifactError(f"extra file name {fname!r} is not allowed")
                    (tmp / fname).write_bytes(data)
                for f in tmp.iterdir():
                    f.chmod(0o444)
                # mkdtemp makes 0700; readers (inference pods) may run as another user
                tmp.chmod(0o755)
                os.rename(tmp, target)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return ModelVersion(name, str(version), target, meta)

    def load(self, name: str, version: str) -> tuple[ModelVersion, bytes]:
        mv = self.get(name, version)
        return mv, mv.read_verified()

    # --- stages and audit -----------------------------------------------------------

    def audit(self, name: str) -> list[dict[str, Any]]:
        path = self.root / name / "audit.jsonl"
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def stages(self, name: str) -> dict[str, str]:
        state = {v: "None" for v in self.versions(name)}
        for event in self.audit(name):
            if "to" in event:  # a stage move; other events (sign-offs) move nothing
                state[event["version"]] = event["to"]
        return state

    def record(self, name: str, version: str, event: str, actor: str, reason: str,
               evidence: dict[str, Any]) -> dict[str, Any]:
        """Write an event other than a stage move in the audit trail (a sign-off)."""
        if not actor.strip() or not reason.strip():
            raise StageError(f"{event} needs an actor and a reason")
        self.get(name, version)  # exists
        e = {"time": _now(), "model": name, "version": str(version), "event": event,
             "actor": actor, "reason": reason, "evidence": evidence}
        with self._lock(name), (self.root / name / "audit.jsonl").open("a") as f:
            f.write(json.dumps(e, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return e

    def stage_of(self, name: str, version: str) -> str:
        return self.stages(name).get(str(version), "None")

    def in_stage(self, name: str, stage: str) -> list[str]:
        return [v for v, s in self.stages(name).items() if s == stage]

    def resolve(self, ref: str) -> ModelVersion:
        """``name``, ``name:version`` or ``name@stage`` (latest version in that stage)."""
        if "@" in ref:
            name, stage = ref.split("@", 1)
            stage = stage.capitalize()
            found = self.in_stage(name, stage)
            if not found:
                raise RegistryError(f"model {name} has no version in stage {stage}")
            return self.get(name, max(found, key=int))
        if ":" in ref:
            name, version = ref.split(":", 1)
            return self.get(name, version)
        versions = self.versions(ref)
        if not versions:
            raise RegistryError(f"model {ref} has no versions in {self.root}")
        return self.get(ref, versions[-1])

    def move(self, name: str, version: str, to: str, actor: str, reason: str,
             evidence: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Move a version to a stage and record it; returns the events written.

        Promoting to Production archives the version that was there (its own event),
        so there is one Production version at a time and rollback is a promotion.
        """
        to = to.capitalize()
        if to not in STAGES:
            raise StageError(f"unknown stage {to!r}; stages: {', '.join(STAGES)}")
        if not actor.strip() or not reason.strip():
            raise StageError("a stage move needs an actor and a reason")
        self.get(name, version)  # exists
        with self._lock(name):
            current = self.stage_of(name, version)
            if to not in TRANSITIONS[current]:
                raise StageError(
                    f"model {name} version {version} is in {current}; it can move to "
                    f"{', '.join(sorted(TRANSITIONS[current]))}, not {to}")
            events = []
            if to == "Production":
                for other in self.in_stage(name, "Production"):
                    events.append(self._event(name, other, "Production", "Archived", actor,
                                              f"replaced by version {version}: {reason}", None))
            events.append(self._event(name, str(version), current, to, actor, reason, evidence))
            path = self.root / name / "audit.jsonl"
            with path.open("a") as f:
                for e in events:
                    f.write(json.dumps(e, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return events

    @staticmethod
    def _event(name: str, version: str, frm: str, to: str, actor: str, reason: str,
               evidence: dict[str, Any] | None) -> dict[str, Any]:
        e: dict[str, Any] = {"time": _now(), "model": name, "version": version, "from": frm,
                             "to": to, "actor": actor, "reason": reason}
        if evidence is not None:
            e["evidence"] = evidence
        return e

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        path = self.root / name / ".lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
