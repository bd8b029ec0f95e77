"""The Locust profile the README documents, run for real: headless Locust in its own
process (gevent must not monkey-patch pytest's process) against a local stack.

Every request must count as a success by the locustfile's own rules: valid quotes
priced (200, premium > 0), the ~5% invalid ones refused with 422 and field errors.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.helpers import make_stack

ROOT = Path(__file__).resolve().parents[2]


def test_locust_headless_profile(trained_registry: Path, tmp_path: Path) -> None:
    stack = make_stack(trained_registry, tmp_path / "stack", green_weight=30, shadow=True)
    with stack:
        env = {**os.environ, "QUOTEFLOW_LOCUST_INVALID_SHARE": "0.2"}
        done = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"),
             "--headless", "-u", "10", "-r", "10", "-t", "8s", "--only-summary",
             "--host", stack.config.url("router"), "--csv", str(tmp_path / "locust")],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
    with (tmp_path / "locust_stats.csv").open() as f:
        rows = {r["Name"]: r for r in csv.DictReader(f)}
    total = rows.pop("Aggregated")
    print(f"LOCUST requests={total['Request Count']} failures={total['Failure Count']} "
          f"rps={float(total['Requests/s']):.0f} p99={total['99%']} ms")
    assert int(total["Request Count"]) > 100
    assert int(total["Failure Count"]) == 0, (tmp_path / "locust_failures.csv").read_text()
    assert int(rows["/v1/quote"]["Request Count"]) > 0
    # the invalid kinds were sent and each was refused as the locustfile expects
    invalid = [n for n in rows if n.startswith("/v1/quote [invalid:")]
    assert len(invalid) >= 3, list(rows)
