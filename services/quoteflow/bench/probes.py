"""What the benchmark reads off the processes it drives: the load generator's CPU (the
children's rusage), an HTTP endpoint's readiness, the router's ledger batch counters."""

from __future__ import annotations

import contextlib
import re
import resource
import subprocess
import time
import urllib.error
import urllib.request


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def ledger_batches(base: str) -> tuple[float, float]:
    """(sum, count) of the router's ledger commit batch sizes so far; (0, 0) if none."""
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        text = r.read().decode()
    found = {m.group(1): float(m.group(2)) for m in re.finditer(
        r"^quoteflow_ledger_commit_batch_size_(sum|count)\{[^}]*\} (\S+)$", text, re.M)}
    return found.get("sum", 0.0), found.get("count", 0.0)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a process the bench started (killed if it does not end in 15 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        with contextlib.suppress(urllib.error.URLError, OSError), \
                urllib.request.urlopen(url, timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s")
