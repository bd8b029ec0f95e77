"""Local mode: the traffic policy file, hot-reloaded, and written back by the admin API.

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
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import yaml

from quoteflow import metrics
from quoteflow.router.policy import (
    LEGACY_MODEL,
    Policy,
    PolicyDocument,
    PolicyError,
    PolicyStore,
    parse_document,
)

log = logging.getLogger(__name__)


def load_document(path: Path) -> PolicyDocument:
    try:
        text = path.read_text()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the traffic policy: {e}") from e
    return parse_document(text, str(path))


def load_policy_file(path: Path, model: str = LEGACY_MODEL) -> Policy:
    """One model's section of the file (PolicyError naming the sections if it has none)."""
    return load_document(path).section(model, str(path))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _replace(path: Path, document: PolicyDocument) -> None:
    """Atomic replace, so a reader (this router or another) never sees half a document."""
    text = yaml.safe_dump(document.document(), sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=".policy-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def update_policy_file(path: Path, change: Callable[[PolicyDocument], PolicyDocument]) -> None:
    """Read, change and replace the whole document under the file's lock; a missing
    file starts empty, an unreadable one is refused (other models' sections are in it)."""
    with _locked(path):
        current = (load_document(path) if path.exists()
                   else PolicyDocument(sections={}))
        _replace(path, change(current))


def write_policy_file(path: Path, policy: Policy, model: str = LEGACY_MODEL) -> None:
    """Replace one model's section, keeping the others."""
    update_policy_file(path, lambda doc: doc.with_section(model, policy))


class PolicyFileWatcher:
    """Polls the file's (mtime, size, inode); a refused document leaves the running one."""

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

    def write(self, policy: Policy) -> None:
        """Persist a policy this router applied itself: our own write is not a hot reload."""
        write_policy_file(self.path, policy, self.store.model)
        self._seen = self._stamp()

    def check(self) -> None:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return
        self._seen = stamp
        try:
            self.store.apply_text(self.path.read_text(), str(self.path))
            self.last_error = None
        except (PolicyError, OSError) as e:
            self.last_error = str(e)
            metrics.POLICY_RELOAD_ERRORS.inc()
            log.error("traffic policy refused; the running policy stays",
                      extra={"error": str(e), "generation": self.store.generation})

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.check()
