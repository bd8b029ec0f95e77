"""Local mode: the traffic policy file, hot-reloaded, and written back by the admin API."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from quoteflow import metrics
from quoteflow.router.policy import Policy, PolicyError, PolicyStore, parse_policy

log = logging.getLogger(__name__)


def load_policy_file(path: Path) -> Policy:
    try:
        text = path.read_text()
    except OSError as e:
        raise PolicyError(f"{path}: cannot read the traffic policy: {e}") from e
    return parse_policy(text, str(path))


def write_policy_file(path: Path, policy: Policy) -> None:
    """Atomic replace, so a reader (this router or another) never sees half a document."""
    text = yaml.safe_dump(policy.document(), sort_keys=False)
    fd, tmp = tempfile.mkstemp(prefix=".policy-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
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

    def write(self, policy: Any) -> None:
        """Persist a policy this router applied itself: our own write is not a hot reload."""
        write_policy_file(self.path, policy)
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
