"""`quoteflow bench` runs end to end (short cases, no BentoML download) and reports
every case it ran as a row, in the table and in the JSON history file. It checks the
table's shape only: never a speed, an error rate or a latency (those measure the machine)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.pgserver import (
    PgServer,
    pg_server,  # noqa: F401  (fixture)
)


def test_bench_runs_and_reports_every_case(trained_registry: Path, claims_registry: Path,
                                           tmp_path: Path,
                                           pg_server: PgServer) -> None:  # noqa: F811
    registry = tmp_path / "registry"  # both products (copies: the session's stay)
    shutil.copytree(trained_registry / "motor", registry / "motor")
    shutil.copytree(claims_registry / "claims", registry / "claims")
    done = subprocess.run(
        [sys.executable, "-m", "quoteflow.cli", "bench", "--registry", str(registry),
         "--workdir", str(tmp_path), "--seconds", "1", "--warmup", "0.5", "--no-bentoml",
         "--only", "raw", "--only", "chain", "--only", "hop", "--only", "nginx",
         "--only", "ledger", "--only", "triage", "--rounds", "2",
         "--postgres", pg_server.create_database()],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    print(done.stdout)
    [saved] = tmp_path.glob("bench-*.json")
    doc = json.loads(saved.read_text())
    rows = doc["rows"]
    sections = {r["section"] for r in rows}
    assert sections == {"onnxruntime batch=1 in process", "inference hop alone",
                        "full chain (router->preprocess->inference)",
                        "nginx split_clients -> inference", "full chain, ledger on SQLite",
                        "full chain, ledger off",
                        "full chain, ledger on PostgreSQL",
                        "claim triage chain (router->preprocess->inference)"}
    for r in rows:
        # the table's shape only: an error rate or a latency measures the machine (an
        # open-loop row beyond a slow machine's capacity fails quotes, and that is data)
        assert r["requests"] > 0 and 0 <= r["errors"] <= r["requests"], r
        assert r["rate"] >= 0 and r["p99_ms"] >= r["p50_ms"] >= 0, r
    hop = [r for r in rows if r["section"] == "inference hop alone"]
    assert {r["load"] for r in hop} == {"closed 8", "closed 64", "open 500/s", "open 1000/s"}
    # CPU per request is read for the processes that served
    assert all(r["cpu_us"].get("inference-blue", 0) > 0 for r in hop)
    # one table line per row, and the goals it could judge
    assert done.stdout.count("| inference hop alone |") == 4
    sections_chain = "full chain (router->preprocess->inference)"
    chain = [r for r in rows if r["section"].startswith("full chain")]
    assert all(r["cpu_us"].get("router", 0) > 0 and r["cpu_us"].get("preprocess", 0) > 0
               for r in chain)
    # the ledger's rows say how many quotes each commit carried; ledger off commits none
    assert all(r["commit_batch"] >= 1 for r in chain if "ledger off" not in r["section"])
    assert all(r["commit_batch"] is None for r in chain if "ledger off" in r["section"])
    # the chain is also driven open loop at half its own best closed-loop rate
    closed = max(r["rate"] * (r["requests"] - r["errors"]) / r["requests"] for r in chain
                 if r["section"] == sections_chain and r["load"].startswith("closed"))
    [half] = [r for r in rows if r["section"] == sections_chain
              and r["load"].endswith("(half max)")]
    assert half["load"] == f"open {int(closed / 2)}/s (half max)"
    # the ledger section: its three stacks in turns, two rounds; each row is the median
    # of its slices, kept in round order; the half-max load is the same for all three
    ledger = [r for r in rows if r["section"] in ("full chain, ledger on SQLite",
                                                  "full chain, ledger off",
                                                  "full chain, ledger on PostgreSQL")]
    assert len(ledger) == 6 and all(len(r["rounds"]) == 2 for r in ledger)
    assert all(s["section"] == r["section"] and s["load"] == r["load"]
               for r in ledger for s in r["rounds"])
    assert {r["load"] for r in ledger if r["load"] != "closed 64"} == {
        next(r["load"] for r in ledger if r["load"].endswith("(half max)"))}
    assert done.stdout.count("[median of 2 slices]") == 6
    # and at 1.5x it (overload): its 503s (shed) are counted, never judged here
    [over] = [r for r in rows if r["section"] == sections_chain
              and r["load"].endswith("(1.5x max)")]
    assert over["load"] == f"open {int(closed * 1.5)}/s (1.5x max)"
    # open-loop rows tell 503s from other failures; wrk's closed-loop rows cannot
    for r in rows:
        opened = r["load"].startswith("open ")
        assert (r["shed"] is not None) == opened, r
        assert not opened or 0 <= r["shed"] <= r["errors"], r
    assert "| shed (503) |" in done.stdout
    goals = {g["goal"]: g for g in doc["goals"]}
    for name in ("ledger on / ledger off, quotes/s",
                 "ledger on PostgreSQL / ledger off, quotes/s",
                 "router CPU per quote / nginx CPU per request",
                 "router CPU per quote, ledger off / nginx CPU per request",
                 "preprocess CPU per quote / inference hop CPU per request",
                 "whole chain CPU per quote / inference hop CPU per request",
                 "p99 ms at half the chain's closed-loop maximum",
                 "p99 ms of all answers (200 and 503) at 1.5x the chain's closed-loop maximum",
                 "router CPU per quote, ledger on / ledger off",
                 "p99 at half the chain's max, ledger on / ledger off"):
        assert goals[name]["value"] > 0, goals[name]
        assert goals[name]["met"] in (True, False)
        assert f"- {name}: " in done.stdout
    for name in ("ledger on / ledger off, quotes/s",
                 "ledger on PostgreSQL / ledger off, quotes/s",
                 "router CPU per quote, ledger on / ledger off",
                 "p99 at half the chain's max, ledger on / ledger off"):
        assert len(goals[name]["rounds"]) == 2, goals[name]  # one ratio a round
        assert "median of 2 rounds, range " in goals[name]["how"]
    # BentoML was not run: its ratio is not measured, and said so
    assert goals["full chain / BentoML one hop"]["met"] is None
    assert "full chain / BentoML one hop: n/a (goal >= 6) not measured" in done.stdout
    assert doc["machine"]["cpus"] >= 1 and doc["goals"]
