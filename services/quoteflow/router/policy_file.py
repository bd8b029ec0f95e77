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
from collections.abc import Iterator
from pathlib import Path

import yaml

from quoteflow import metrics
from quoteflow.router.policy import (
    LEGACY_MODEL,
    Policy,
    PolicyDocument,
    PolicyError,
    PolicyStore,
    check_model_name,
    parse_document,
    parse_section,
    raw_sections,
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
    try:
        text = path.read_text()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the traffic policy: {e}") from e
    return parse_section(text, str(path), model)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def write_policy_file(path: Path, policy: Policy, model: str = LEGACY_MODEL) -> None:
    """Replace one model's section under the file's lock, keeping the other sections as
    they are written (valid or not: they are their routers' to judge). A file that is
    not a policy document at all does not block the write, the kill switch least of
    all: it is replaced, and said so in the log."""
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
