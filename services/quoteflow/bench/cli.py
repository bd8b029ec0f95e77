"""`quoteflow bench`: one table of quotes/s, p50/p99 and CPU per request, in one run.

    quoteflow bench --registry var/registry          # ~4 minutes
    quoteflow bench --registry var/registry --quick  # ~1 minute smoke run

Closed loop with wrk (8 and 64 connections), open loop at fixed rates with our
own coordinated-omission-free generator, for the full chain, shadow on vs off, one
inference hop, raw onnxruntime, and the anchors: nginx split_clients and BentoML.
The machine is shared and noisy: read ratios within one run, not absolutes.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import click

from quoteflow.bench.results import goals, goals_text, machine, save, table
from quoteflow.bench.runner import SECTIONS, Bench, Options


@click.command(name="bench")
@click.option("--registry", "registry", type=click.Path(path_type=Path, exists=True),
              envvar="QUOTEFLOW_BENCH_REGISTRY", required=True,
              help="registry with the Blue and Green model versions")
@click.option("--blue", default="1", show_default=True, help="Blue model version")
@click.option("--green", default="2", show_default=True, help="Green model version")
@click.option("--workdir", type=click.Path(path_type=Path), default=Path("var/bench"),
              show_default=True, help="logs, configs, BentoML venv, results (*.json)")
@click.option("--seconds", type=float, default=8.0, show_default=True,
              help="measured seconds per case")
@click.option("--warmup", type=float, default=2.0, show_default=True)
@click.option("--quick", is_flag=True, help="3 s per case, 1 s warm-up: a ~1 minute smoke run")
@click.option("--pin", default="1", show_default=True,
              help="CPU list the load generator is pinned to (taskset); '' for none")
@click.option("--no-bentoml", is_flag=True, help="skip the BentoML anchor")
@click.option("--only", multiple=True, type=click.Choice(SECTIONS),
              help="run only these sections (repeatable): A/B runs of one change")
@click.option("--postgres", "postgres_url", envvar="QUOTEFLOW_BENCH_POSTGRES",
              help="an empty PostgreSQL database (postgresql://...) for the ledger rows")
@click.option("--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="rounds of the ledger section: its stacks (on, off, PostgreSQL) driven "
                   "in turns, each ratio taken within a round")
def bench(registry: Path, blue: str, green: str, workdir: Path, seconds: float, warmup: float,
          quick: bool, pin: str, no_bentoml: bool, only: tuple[str, ...],
          postgres_url: str | None, rounds: int) -> None:
    """Benchmark the quote path against its anchors; print one table, save JSON."""
    if quick:
        seconds, warmup = 3.0, 1.0
    workdir = workdir.resolve()
    opts = Options(registry=registry.resolve(), workdir=workdir, blue=blue, green=green,
                   seconds=seconds, warmup=warmup, pin=pin or None, bentoml=not no_bentoml,
                   only=only, postgres_url=postgres_url, rounds=rounds,
                   log=lambda m: click.echo(m, err=True))
    meta: dict[str, Any] = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": machine(), "seconds": seconds, "warmup": warmup,
            "load_generator": f"wrk -t1 (closed) / our keep-alive client+uvloop (open), "
                              f"pinned to CPU {pin or 'none'}"}
    t0 = time.monotonic()
    rows = Bench(opts).run()
    meta["wall_seconds"] = round(time.monotonic() - t0, 1)
    meta["loadavg_after"] = machine()["loadavg"]
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = save(workdir / f"bench-{stamp}.json", rows, meta)
    m = meta["machine"]
    click.echo(f"\nquoteflow bench, {m['cpus']} CPUs ({m['cpu_model']}), commit {m['commit']}, "
               f"{seconds:g} s per case after {warmup:g} s warm-up; load generator "
               f"{meta['load_generator']}; load avg before {' '.join(m['loadavg'])}\n")
    click.echo(table(rows))
    click.echo("\nGoals (issues 7, 15, 20), ratios within this run:")
    click.echo(goals_text(goals(rows)))
    click.echo(f"\nJSON: {path}  ({meta['wall_seconds']} s)")
