"""The whole policy document (a section per model) and local mode's source, the file.

Shape (unknown keys refused)::

    models:
      motor:
        blue:  {version: "1"}
        green: {version: "2"}
        green_weight: 10
        shadow: {enabled: true, sample: 1.0}
        generation: 7
      claims:
        blue: {version: "1"}

Each product rolls out on its own: a router serves one model and runs only that
model's section, swapped atomically with its own generation. A document in the older
single-section shape (``blue: ...`` at the top) is read as the ``motor`` section, so
existing files and ConfigMaps keep working.

``generation`` lets a tool confirm that every router replica of a model runs the same
section: writers (the admin API, the CLI) set it to the previous one plus one; a
section without one (a hand edit) gets the running generation plus one.

Several routers (one per model) may share one file, each owning its section: a write
replaces only the writer's section, under an exclusive lock on a sibling lock file, so
two routers writing at once never lose each other's change.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, ConfigDict

from quoteflow import metrics
from quoteflow.traffic import history
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import (
    LEGACY_MODEL,
    Policy,
    PolicyError,
    PolicyState,
    PolicyStore,
    load_mapping,
    validate_policy,
)

log = logging.getLogger(__name__)
ALL_MODELS = "all"  # the kill switch's "every model"; never a model name
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class PolicyDocument(BaseModel):
    """The whole document: model name -> that model's section."""

    model_config = ConfigDict(frozen=True)

    sections: dict[str, Policy]

    @property
    def models(self) -> list[str]:
        return sorted(self.sections)

    def section(self, model: str, source: str = "traffic policy") -> Policy:
        if model not in self.sections:
            raise PolicyError(f"{source}: no section for model {model!r} "
                              f"(sections: {', '.join(self.models) or 'none'})")
        return self.sections[model]

    def with_section(self, model: str, policy: Policy) -> PolicyDocument:
        check_model_name(model)
        return PolicyDocument(sections={**self.sections, model: policy})

    def document(self) -> dict[str, Any]:
        return {"models": {m: self.sections[m].document() for m in self.models}}


def check_model_name(model: str) -> str:
    if model == ALL_MODELS or not _MODEL_NAME.match(model):
        raise PolicyError(f"{model!r} is not a model name (lower-case letters, digits, "
                          f"'_', '-', '.'; {ALL_MODELS!r} is reserved)")
    return model


def _sections(data: dict[str, Any], source: str) -> Mapping[str, Any]:
    """The raw sections of a document (the single-section shape: motor's)."""
    if "models" not in data:
        return {LEGACY_MODEL: data}
    extra = sorted(set(data) - {"models"})
    if extra:
        raise PolicyError(f"{source}: invalid traffic policy: {', '.join(extra)}: unknown "
                          "key beside `models` (each model's settings go in its section)")
    models = data["models"]
    if not isinstance(models, Mapping) or not models:
        raise PolicyError(f"{source}: invalid traffic policy: models: a mapping of model "
                          "name to section, with at least one model")
    for name in models:
        try:
            check_model_name(str(name))
        except PolicyError as e:
            raise PolicyError(f"{source}: invalid traffic policy: models: {e}") from e
    return models


def _validate_section(sections: Mapping[str, Any], name: str, source: str,
                      legacy: bool) -> Policy:
    return validate_policy(sections[name], source, "" if legacy else f"models.{name}.")


def parse_document(text: str | bytes | Any, source: str) -> PolicyDocument:
    """The whole document, every section validated (what the tools read and write); the
    single-section shape is read as the motor section."""
    data = load_mapping(text, source)
    sections = _sections(data, source)
    legacy = "models" not in data
    return PolicyDocument(sections={str(name): _validate_section(sections, name, source, legacy)
                                    for name in sections})


def parse_section(text: str | bytes | Any, source: str, model: str) -> Policy:
    """One model's section (what a router runs): the document's shape and that section
    are validated, not the other models' sections, which are their routers' to judge,
    so a bad edit of one model's section never stops another's reloads."""
    data = load_mapping(text, source)
    sections = _sections(data, source)
    if model not in sections:
        raise PolicyError(f"{source}: no section for model {model!r} "
                          f"(sections: {', '.join(sorted(map(str, sections))) or 'none'})")
    return _validate_section(sections, model, source, "models" not in data)


def raw_sections(text: str) -> dict[str, Any]:
    """Every section as written, valid or not, for a writer that replaces one section
    and must keep the others; nothing for text that is not a policy document at all."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    models = data.get("models") if "models" in data else {LEGACY_MODEL: data}
    return dict(models) if isinstance(models, dict) else {}


class SupportsApply(Protocol):
    """What a source needs from the store it feeds (``PolicyStore``)."""

    model: str

    @property
    def generation(self) -> int: ...

    def apply(self, policy: Policy, source: str) -> PolicyState: ...


def apply_text(store: SupportsApply, text: str | bytes, source: str) -> Policy:
    """What every source does with what it read: the store's own section, validated,
    swapped in (the running policy is returned); on error the running policy stays and
    PolicyError is raised."""
    return store.apply(parse_section(text, source, store.model), source).policy


# --- the file ---------------------------------------------------------------------------

def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the traffic policy: {e}") from e


def load_document(path: Path) -> PolicyDocument:
    return parse_document(_read(path), str(path))


def load_policy_file(path: Path, model: str = LEGACY_MODEL) -> Policy:
    """One model's section of the file (PolicyError naming the sections if it has none)."""
    return parse_section(_read(path), str(path), model)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_policy_file(path: Path, policy: Policy, model: str = LEGACY_MODEL,
                      change: Change | None = None) -> None:
    """Replace one model's section under the file's lock, keeping the other sections as
    they are written (valid or not: they are their routers' to judge). A file that is
    not a policy document at all does not block the write, the kill switch least of
    all: it is replaced, and said so in the log. ``change``: appended to the history
    beside the file, under the same lock."""
    check_model_name(model)
    with _locked(path):
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        sections = raw_sections(text)
        if text.strip() and not sections:
            log.warning("traffic policy file was not a policy document; replaced",
                        extra={"path": str(path), "model": model})
        sections[model] = policy.document()
        body = yaml.safe_dump({"models": dict(sorted(sections.items()))}, sort_keys=False)
        # atomic replace, so a reader (this router or another) never sees half a document
        fd, tmp = tempfile.mkstemp(prefix=".policy-", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(body)
        os.replace(tmp, path)
        if change is not None:
            history.append(history.history_path(path),
                           history.entry(change, model, policy.generation, policy.document()))


class PolicyFile:
    """Local mode's source: the file, polled on its (mtime, size, inode), and written
    through by the admin API; a refused document leaves the running policy."""

    def __init__(self, path: Path, store: PolicyStore, interval: float) -> None:
        self.path = path
        self.store = store
        self.interval = interval
        self.last_error: str | None = None
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def write(self, policy: Policy, by: str, change: Change | None = None) -> PolicyState:
        """Write this model's section (numbered the running generation plus one when it
        has none), then reload: the change reaches the store as any edit of the file does.
        PolicyError: the file was not changed, or what it now says was refused."""
        if policy.generation is None:
            policy = policy.model_copy(update={"generation": self.store.generation + 1})
        write_policy_file(self.path, policy, self.store.model, change)
        self.reload(f"{self.path} (written by the {by})")
        return self.store.state

    def reload(self, source: str | None = None) -> None:
        # the stamp first: a write landing after it is seen by the next check
        self._seen = self._stamp()
        apply_text(self.store, _read(self.path), source or str(self.path))

    def check(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        try:
            self.reload()
            self.last_error = None
        except PolicyError as e:
            self.last_error = str(e)
            metrics.POLICY_RELOAD_ERRORS.inc()
            log.error("traffic policy refused; the running policy stays",
                      extra={"error": str(e), "generation": self.store.generation})

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()
