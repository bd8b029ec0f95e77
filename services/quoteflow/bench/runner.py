"""Start what the benchmark needs, drive each target, collect rows.

One run: the local stack (real processes), nginx in front of the two inference processes,
BentoML on the Blue model's ONNX file; then every case back to back so the ratios share
the machine's mood. Shadow is switched through the router's admin API, as an SRE would.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from quoteflow import products
from quoteflow.bench import bento, ledger_rows, nginx, onnx_raw, tracing_rows, wrk
from quoteflow.bench.probes import children_cpu, ledger_batches, stop, wait_http
from quoteflow.bench.procstat import CpuMeter, per_request_us
from quoteflow.bench.results import (
    BENTO,
    CHAIN,
    CHAIN_SHADOW,
    HOP,
    NGINX,
    RELATIVE_LOADS,
    TRIAGE,
    Row,
    best_closed,
)
from quoteflow.bench.workload import Request, Workload, build, triage
from quoteflow.local.stack import Stack, StackConfig, free_port
from quoteflow.registry import Registry

TOKEN = "bench-admin-token"
SECTIONS = ("raw", "chain", "ledger", "tracing", "triage", "shadow", "hop", "nginx", "bento")
GREEN_WEIGHT = 10


@dataclass
class Options:
    registry: Path
    workdir: Path
    blue: str = "1"
    green: str = "2"
    seconds: float = 8.0
    warmup: float = 2.0
    pin: str | None = "1"
    rates: tuple[int, ...] = (500, 1000)
    conns: tuple[int, ...] = (8, 64)
    bentoml: bool = True
    # subset of SECTIONS to run (A/B runs of one change); empty: all
    only: tuple[str, ...] = ()
    # a PostgreSQL database for the ledger-on-PostgreSQL rows (none: not measured)
    postgres_url: str | None = None
    rounds: int = 5  # rounds of the ledger section's alternating slices
    log: Callable[[str], None] = print


class Bench:
    def __init__(self, opts: Options) -> None:
        self.o = opts
        self.rows: list[Row] = []
        self.work: Workload = build()
        self.procs: dict[str, int] = {}

    # --- load -------------------------------------------------------------------

    def closed(self, section: str, base: str, path: str, reqs: list[Request], conns: int,
               groups: dict[str, int]) -> Row:
        script = wrk.write_script(self.o.workdir / f"wrk-{abs(hash(section)) % 10**6}.lua",
                                  path, reqs)
        wrk.run(base, script, conns, self.o.warmup, self.o.pin)  # warm-up, not recorded
        time.sleep(0.5)  # its unanswered quotes end before new clients come (admission)
        meter, gen0 = CpuMeter(groups), children_cpu()
        meter.start()
        r = wrk.run(base, script, conns, self.o.seconds, self.o.pin)
        cpu = meter.stop()
        cpu["loadgen"] = children_cpu() - gen0
        return Row(section, f"closed {conns}", r.rate, r.p50_ms, r.p99_ms,
                   r.non_2xx + r.socket_errors, r.requests, per_request_us(cpu, r.requests))

    def open(self, section: str, url: str, reqs: list[Request], rate: int,
             groups: dict[str, int]) -> Row:
        bodies = self.o.workdir / "open-bodies.json"
        bodies.write_text(json.dumps([[q.body, q.key] for q in reqs]))
        cmd = [sys.executable, "-m", "quoteflow.bench.openloop", "--url", url, "--bodies",
               str(bodies), "--rate", str(rate), "--seconds", str(self.o.seconds),
               "--warmup", str(self.o.warmup)]
        if self.o.pin:
            cmd = ["taskset", "-c", self.o.pin, *cmd]
        meter = CpuMeter(groups)
        gen0 = children_cpu()
        meter.start()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True,
                             timeout=self.o.seconds + self.o.warmup + 120)
        cpu = meter.stop()
        cpu["loadgen"] = children_cpu() - gen0
        d = json.loads(out.stdout)
        # CPU over warm-up and measured window alike, so divide by every request sent
        return Row(section, f"open {rate}/s", d["rate"], d["p50_ms"], d["p99_ms"],
                   int(d["errors"]), int(d["completed"]), per_request_us(cpu, int(d["total"])),
                   shed=int(d["shed"]))

    def suite(self, section: str, base: str, path: str, reqs: list[Request],
              groups: dict[str, int], conns: tuple[int, ...], rates: tuple[int, ...]) -> None:
        for c in conns:
            self.add(self.batched(base, partial(self.closed, section, base, path, reqs, c,
                                                groups)))
        for rate in rates:
            self.add(self.batched(base, partial(self.open, section, base + path, reqs, rate,
                                                groups)))

    @staticmethod
    def batched(base: str, case: Callable[[], Row]) -> Row:
        """Run a case and note the mean ledger commit batch it saw (router metrics)."""
        s0, n0 = ledger_batches(base)
        row = case()
        s1, n1 = ledger_batches(base)
        if n1 > n0:
            row.commit_batch = round((s1 - s0) / (n1 - n0), 1)
        return row

    def add(self, row: Row) -> None:
        self.rows.append(row)
        self.o.log(f"  {row.section:44s} {row.load:12s} {row.rate or 0:8,.0f}/s "
                   f"p50 {row.p50_ms or 0:7.2f} p99 {row.p99_ms or 0:8.2f} ms "
                   f"non-200 {row.errors}" + (f" (503 {row.shed})" if row.shed else ""))

    # --- targets -----------------------------------------------------------------

    def set_shadow(self, base: str, enabled: bool) -> None:
        doc = {"blue": {"version": self.o.blue}, "green": {"version": self.o.green},
               "green_weight": GREEN_WEIGHT, "shadow": {"enabled": enabled, "sample": 1.0}}
        req = urllib.request.Request(base + "/admin/traffic", method="PUT",
                                     data=json.dumps(doc).encode(),
                                     headers={"content-type": "application/json",
                                              "authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200
        time.sleep(0.5)  # let the previous case's shadow queue drain

    @contextlib.contextmanager
    def stack(self, ledger: str | None = None, model: str = "motor",
              env: dict[str, dict[str, str]] | None = None) -> Iterator[Stack]:
        """``ledger``: None, SQLite in the work dir; "off"; or a PostgreSQL URL. ``env``:
        more settings per process (tracing's rows)."""
        mode = "pg" if ledger and ledger != "off" else ledger or "sqlite"
        wd = self.o.workdir / f"stack-{model}-{mode}"
        for stale in ("policy.yaml", "ledger.sqlite3", "ledger.sqlite3-wal", "ledger.sqlite3-shm"):
            (wd / stale).unlink(missing_ok=True)
        env = dict(env or {})
        if ledger == "off":
            env["router"] = {**env.get("router", {}), "QUOTEFLOW_ROUTER_LEDGER_ENABLED": "false"}
        cfg = StackConfig(registry_dir=self.o.registry, workdir=wd, blue_version=self.o.blue,
                          green_version=self.o.green, green_weight=GREEN_WEIGHT, shadow=False,
                          admin_token=TOKEN, log_level="WARNING", env=env, model_name=model,
                          ledger_url=ledger if ledger != "off" else None)
        with Stack(cfg) as s:
            yield s

    def run(self) -> list[Row]:
        o = self.o
        want = set(o.only or SECTIONS)
        o.workdir.mkdir(parents=True, exist_ok=True)
        mv, onnx_bytes = Registry(o.registry).load("motor", o.blue)
        if "raw" in want:
            o.log("onnxruntime in process ...")
            rows = [json.loads(r.body)["features"][0] for r in self.work.predicts]
            plain = products.get(mv.metadata.get("product", "motor")).plain_graph(onnx_bytes)
            for row in onnx_raw.rows(onnx_bytes, plain, rows, min(o.seconds, 3.0)):
                self.add(row)
        if not want - {"raw"}:
            return self.rows
        with self.stack() as st, contextlib.ExitStack() as extra:
            pids = {k: p.pid for k, p in st.procs.items()}
            router, blue = st.config.url("router"), st.config.url("inference-blue")
            chain_groups = {k: pids[k] for k in
                            ("router", "preprocess", "inference-blue", "inference-green")}
            if "chain" in want:
                o.log("full chain, shadow off ...")
                self.set_shadow(router, False)
                self.suite(CHAIN, router, "/v1/quote", self.work.quotes, chain_groups,
                           o.conns, o.rates)
                self._relative_to_max(router, chain_groups)
            if "shadow" in want:
                o.log("full chain, shadow on ...")
                self.set_shadow(router, True)
                self.suite(CHAIN_SHADOW, router, "/v1/quote", self.work.quotes, chain_groups,
                           o.conns[-1:], o.rates[-1:])
                self.set_shadow(router, False)
            if "hop" in want:
                o.log("inference hop ...")
                self.suite(HOP, blue, "/v1/predict", self.work.predicts,
                           {"inference-blue": pids["inference-blue"]}, o.conns, o.rates)
            if "nginx" in want:
                self._nginx(st, extra)
            if "bento" in want:
                self._bento(mv.onnx_path, extra)
        if "ledger" in want:
            ledger_rows.measure(self)
        if "tracing" in want:
            tracing_rows.measure(self)
        if "triage" in want:
            self._triage_rows()
        return self.rows

    def _relative_to_max(self, router: str, groups: dict[str, int]) -> None:
        """Open loop at half the chain's best closed-loop rate of this run (headroom: inside
        10 ms) and at 1.5x it (overload: the excess refused at once with 503s, not queued)."""
        best = best_closed(self.rows, CHAIN)
        if not best:
            return
        for which, factor in RELATIVE_LOADS.items():
            rate = max(int(best * factor), 1)
            row = self.batched(router, partial(self.open, CHAIN, router + "/v1/quote",
                                               self.work.quotes, rate, groups))
            row.load = f"open {rate}/s {which}"
            self.add(row)

    def _triage_rows(self) -> None:
        """The second product's chain, same platform, its own stack and model."""
        o = self.o
        if not Registry(o.registry).versions("claims"):
            self.add(Row(TRIAGE, f"closed {o.conns[-1]}",
                         note="not measured: no claims model in --registry"))
            return
        o.log(f"{TRIAGE} ...")
        with self.stack(model="claims") as st:
            pids = {k: p.pid for k, p in st.procs.items()}
            groups = {k: pids[k] for k in
                      ("router", "preprocess", "inference-blue", "inference-green")}
            self.suite(TRIAGE, st.config.url("router"), "/v1/claims/triage", triage(),
                       groups, o.conns[-1:], o.rates[-1:])

    def _nginx(self, st: Stack, extra: contextlib.ExitStack) -> None:
        if not nginx.available():
            self.rows.append(Row(NGINX, "-", note="nginx not installed"))
            return
        self.o.log("nginx split_clients ...")
        port = free_port()
        hp: Callable[[str], str] = lambda s: f"127.0.0.1:{st.config.port(s)}"  # noqa: E731
        proc = nginx.start(self.o.workdir / "nginx", port, hp("inference-blue"),
                           hp("inference-green"), GREEN_WEIGHT)
        extra.callback(stop, proc)
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/readyz", 15, proc)
        groups = {"nginx": proc.pid, "inference-blue": st.procs["inference-blue"].pid,
                  "inference-green": st.procs["inference-green"].pid}
        self.suite(NGINX, base, "/v1/predict", self.work.predicts, groups, self.o.conns,
                   self.o.rates[-1:])

    def _bento(self, onnx_path: Path, extra: contextlib.ExitStack) -> None:
        if not self.o.bentoml:
            self.rows.append(Row(BENTO, "-", note="skipped (--no-bentoml)"))
            return
        self.o.log("BentoML (installing into its own venv on first use) ...")
        why = bento.ensure_installed(self.o.workdir)
        if why:
            self.rows.append(Row(BENTO, "-", note=why))
            return
        port = free_port()
        proc = bento.start(self.o.workdir, onnx_path, port)
        extra.callback(stop, proc)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_http(base + "/readyz", 90, proc)
        except RuntimeError as e:
            self.rows.append(Row(BENTO, "-", note=f"did not start: {e}"))
            return
        self.suite(BENTO, base, "/predict", self.work.bento, {"bentoml": proc.pid},
                   self.o.conns, ())
