"""CPU time and peak memory of processes from /proc.

CPU: utime + stime, children threads included, read before and after a load run; the
difference divided by the requests served is the CPU each request cost in that process
(what the benchmark compares).
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = 1.0 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads); 0 if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # the command name may hold spaces: fields start after the last ')'
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK


def _status_mib(pid: int, key: str) -> float | None:
    """A memory line (kB) of /proc/<pid>/status in MiB; None if the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return None  # a zombie has no memory lines


def rss_mib(pid: int) -> float | None:
    """Resident memory now (VmRSS); None if the process is gone."""
    return _status_mib(pid, "VmRSS")


def peak_rss_mib(pid: int) -> float | None:
    """High-water resident memory (VmHWM) of a process since its exec; None if it is gone.

    Not getrusage's ru_maxrss: Linux carries the pre-exec high water into it, so a child
    started from a big parent (vfork shares the parent's memory) reports the parent's.
    """
    return _status_mib(pid, "VmHWM")


def descendants(pid: int) -> list[int]:
    """pid and every process below it (nginx workers, BentoML's service workers)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for k in kids:
            out.extend(descendants(int(k)))
    return out


class CpuMeter:
    """CPU seconds per named process group between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, int]) -> None:
        self.groups = groups  # name -> root pid (its descendants are counted too)
        self._before: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        return {name: sum(cpu_seconds(p) for p in descendants(pid))
                for name, pid in self.groups.items()}

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        return {name: after[name] - self._before.get(name, 0.0) for name in self.groups}


def per_request_us(cpu: dict[str, float], requests: int) -> dict[str, float]:
    if requests <= 0:
        return {}
    return {name: round(sec / requests * 1e6, 1) for name, sec in cpu.items()}
