"""The ledger's cost (issues 15 and 29): the chain with the ledger off (the baseline) and
on PostgreSQL, beside the SQLite rows of "chain" (the chain as `quoteflow up` runs it).

The ledger-off chain is also driven at the very rate the chain ran its half-max row, so
the two p99s are of the same offered load."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from quoteflow.bench.results import CHAIN, CHAIN_NO_LEDGER, CHAIN_PG, HALF_MAX, Row, relative_row

if TYPE_CHECKING:
    from quoteflow.bench.runner import Bench

SERVING = ("router", "preprocess", "inference-blue", "inference-green")


def measure(bench: Bench) -> None:
    o = bench.o
    for section, ledger in ((CHAIN_NO_LEDGER, "off"), (CHAIN_PG, o.postgres_url)):
        if ledger is None:
            bench.add(Row(section, f"closed {o.conns[-1]}",
                          note="not measured: give --postgres URL"))
            continue
        o.log(f"{section} ...")
        with bench.stack(ledger) as st:
            groups = {k: st.procs[k].pid for k in SERVING}
            router = st.config.url("router")
            bench.suite(section, router, "/v1/quote", bench.work.quotes, groups,
                        o.conns[-1:], o.rates[-1:])
            if section == CHAIN_NO_LEDGER:
                at_chains_half_max(bench, section, router, groups)


def at_chains_half_max(bench: Bench, section: str, router: str,
                       groups: dict[str, int]) -> None:
    half = relative_row(bench.rows, CHAIN, HALF_MAX)
    if half is None:  # the chain's rows were not run
        return
    rate = int(half.load.split()[1].removesuffix("/s"))
    row = bench.batched(router, partial(bench.open, section, router + "/v1/quote",
                                         bench.work.quotes, rate, groups))
    row.load = half.load
    bench.add(row)
