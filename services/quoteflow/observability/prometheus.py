"""A local Prometheus for `quoteflow up --prometheus` and the end-to-end tests.

Runs the Debian ``prometheus`` binary directly (no shell, so the PID we hold is the
one we stop) on 127.0.0.1, with a generated config that scrapes the given targets
every second and loads the chart's rule files, so what runs locally is exactly
what the chart ships. Its TSDB lives in a temporary directory removed on stop.

With a 1 s scrape interval the first samples appear in the HTTP API about 6-7 s
after start: ``wait_for`` polls for up to 15 s by default.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from quoteflow.observability import RULES_DIR

# (job, color or None, "host:port"[, model]): inference targets carry their color as a
# target label, since the inference process's own metrics have no color label; every
# process of a product's stack carries its model's name (`model`), which the rollout
# gates select on when several products are scraped together.
Target = tuple[str, str | None, str] | tuple[str, str | None, str, str]


class PrometheusError(RuntimeError):
    pass


def find_binary() -> str:
    path = shutil.which("prometheus") or ("/usr/bin/prometheus"
                                          if Path("/usr/bin/prometheus").exists() else None)
    if path is None:
        raise PrometheusError("the prometheus binary is not installed: run scripts/bootstrap.sh "
                              "(it installs the Debian package `prometheus`)")
    return path


def render_config(targets: Sequence[Target], rules_dir: Path | None = RULES_DIR,
                  scrape_interval: str = "1s") -> dict[str, Any]:
    """The prometheus.yml document: one scrape job per distinct job name."""
    jobs: dict[str, list[dict[str, Any]]] = {}
    for job, color, address, *model in targets:
        labels = {"color": color} if color else {}
        if model:
            labels["model"] = model[0]
        jobs.setdefault(job, []).append({"targets": [address], "labels": labels})
    doc: dict[str, Any] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval,
                   "scrape_timeout": scrape_interval},
        "scrape_configs": [{"job_name": job, "static_configs": statics}
                           for job, statics in jobs.items()],
    }
    if rules_dir is not None:
        doc["rule_files"] = [str(Path(rules_dir).resolve() / "*.yaml")]
    return doc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrometheusProcess:
    """A running Prometheus and a small client for its HTTP API."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, workdir: Path,
                 tsdb_dir: Path) -> None:
        self.proc = proc
        self.url = url
        self.workdir = workdir
        self._tsdb_dir = tsdb_dir

    # --- HTTP API -------------------------------------------------------------------

    def _get(self, path: str, params: dict[str, str] | None = None, timeout: float = 10) -> Any:
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:  # 400/422 carry the PromQL error in the body
            body = json.loads(e.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: "
                                  f"{body.get('error')}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; the result vector (or [] for none). Raises on a PromQL error."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self._get("/api/v1/query", params)
        result = data["result"]
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return list(result)

    def wait_for(self, expr: str, timeout: float = 15.0, interval: float = 0.25
                 ) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns at least one sample; raises after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() >= deadline:
                raise PrometheusError(f"no data for {expr!r} after {timeout:.0f}s; targets: "
                                      f"{self.target_health()}")
            time.sleep(interval)

    def target_health(self) -> dict[str, str]:
        """{scrape URL: "up" | "down" (+ last error)} of the active targets."""
        data = self._get("/api/v1/targets")
        return {t["scrapeUrl"]: t["health"] + (f" ({t['lastError']})" if t["lastError"] else "")
                for t in data["activeTargets"]}

    def rules(self) -> list[dict[str, Any]]:
        """Loaded rule groups (GET /api/v1/rules)."""
        return list(self._get("/api/v1/rules")["groups"])

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/-/ready", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    # --- lifecycle ------------------------------------------------------------------

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "prometheus.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self._tsdb_dir, ignore_errors=True)

    def __enter__(self) -> PrometheusProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_prometheus(targets: Sequence[Target], workdir: Path, port: int | None = 9090,
                     rules_dir: Path | None = RULES_DIR, ready_timeout: float = 30.0,
                     scrape_interval: str = "1s") -> PrometheusProcess:
    """Write ``workdir/prometheus.yml``, start Prometheus on 127.0.0.1:``port`` (a free
    port when None) and return once it answers /-/ready. Logs go to
    ``workdir/prometheus.log``.
    """
    binary = find_binary()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(yaml.safe_dump(render_config(targets, rules_dir, scrape_interval),
                                     sort_keys=False))
    port = free_port() if port is None else port
    tsdb = Path(tempfile.mkdtemp(prefix="quoteflow-prometheus-"))
    log = (workdir / "prometheus.log").open("ab")
    cmd = [binary, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
           f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d",
           "--log.level=warn",
           # keeps the latency histograms' trace-id exemplars (scraped as OpenMetrics)
           "--enable-feature=exemplar-storage"]
    try:
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    finally:
        log.close()  # the child holds its own descriptor
    prom = PrometheusProcess(proc, f"http://127.0.0.1:{port}", workdir, tsdb)
    deadline = time.monotonic() + ready_timeout
    try:
        while not prom.ready():
            if proc.poll() is not None:
                raise PrometheusError(f"prometheus exited with {proc.returncode}:\n"
                                      f"{prom.log_tail()}")
            if time.monotonic() >= deadline:
                raise PrometheusError(f"prometheus not ready after {ready_timeout:.0f}s:\n"
                                      f"{prom.log_tail()}")
            time.sleep(0.1)
    except BaseException:
        with contextlib.suppress(Exception):
            prom.stop()
        raise
    return prom
