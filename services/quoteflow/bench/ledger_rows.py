"""The ledger's cost (issues 15 and 29): the chain with the ledger on SQLite, off (the
baseline) and on PostgreSQL, measured in alternating slices.

This host's load moves on the scale of a minute: a ledger-on case and a ledger-off case
a minute apart see different machines, and one run's ratio went anywhere from 1.42 to
2.73 for the same code. So the stacks are kept up together and driven in turns (round
after round, each round starting with the next stack), and every ratio is taken within
a round, between slices seconds apart; the goal lines give the median round and the
range. Each stack's row is the median of its slices; the slices stay in the JSON."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

from quoteflow.bench.results import (
    CHAIN_NO_LEDGER,
    CHAIN_PG,
    CHAIN_SQLITE,
    Row,
    half_max_load,
    served_rate,
)
from quoteflow.local.stack import Stack

if TYPE_CHECKING:
    from quoteflow.bench.runner import Bench

SERVING = ("router", "preprocess", "inference-blue", "inference-green")
Case = Callable[[str, str, dict[str, int]], Row]  # (section, router URL, pids) -> a slice


def measure(bench: Bench) -> None:
    o = bench.o
    targets: list[tuple[str, str | None]] = [(CHAIN_SQLITE, None), (CHAIN_NO_LEDGER, "off")]
    if o.postgres_url:
        targets.append((CHAIN_PG, o.postgres_url))
    with contextlib.ExitStack() as up:
        stacks = [(section, up.enter_context(bench.stack(ledger)))
                  for section, ledger in targets]
        o.log(f"ledger on / off: {len(stacks)} stacks up together, {o.rounds} rounds ...")
        closed = partial(_closed, bench, o.conns[-1])
        rows = in_turns(bench, stacks, closed, o.rounds)
        # half the ledger-on chain's median closed-loop rate of 200s: the same offered rate
        # for every stack, so their p99s compare
        rate = max(int((served_rate(rows[0]) or 0) / 2), 1)
        in_turns(bench, stacks, partial(_open, bench, rate), o.rounds)
    if not o.postgres_url:
        bench.add(Row(CHAIN_PG, f"closed {o.conns[-1]}",
                      note="not measured: give --postgres URL"))


def _closed(bench: Bench, conns: int, section: str, router: str,
            groups: dict[str, int]) -> Row:
    return bench.closed(section, router, "/v1/quote", bench.work.quotes, conns, groups)


def _open(bench: Bench, rate: int, section: str, router: str, groups: dict[str, int]) -> Row:
    row = bench.open(section, router + "/v1/quote", bench.work.quotes, rate, groups)
    row.load = half_max_load(rate)
    return row


def in_turns(bench: Bench, stacks: list[tuple[str, Stack]], case: Case,
             rounds: int) -> list[Row]:
    """Run ``case`` on every stack, ``rounds`` times, each round starting one stack later
    (A B C, B C A, ...); add and return one median row a stack, in the order given."""
    slices: dict[str, list[Row]] = {section: [] for section, _ in stacks}
    for r in range(rounds):
        for section, st in stacks[r % len(stacks):] + stacks[:r % len(stacks)]:
            router = st.config.url("router")
            groups = {k: st.procs[k].pid for k in SERVING}
            slices[section].append(bench.batched(router, partial(case, section, router,
                                                                  groups)))
    rows = [median_row(slices[section]) for section, _ in stacks]
    for row in rows:
        bench.add(row)
    return rows


def median_row(slices: list[Row]) -> Row:
    """One row for slices of one case: the median of each figure (counts summed), with
    the slices themselves kept, in round order, for the paired ratios."""
    def med(values: list[float | None]) -> float | None:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else None

    first = slices[0]
    cpu = {k: statistics.median(s.cpu_us.get(k, 0.0) for s in slices) for k in first.cpu_us}
    sheds = [s.shed for s in slices if s.shed is not None]
    return Row(first.section, first.load, med([s.rate for s in slices]),
               med([s.p50_ms for s in slices]), med([s.p99_ms for s in slices]),
               sum(s.errors for s in slices), sum(s.requests for s in slices), cpu,
               commit_batch=med([s.commit_batch for s in slices]),
               shed=sum(sheds) if sheds else None, rounds=slices)
