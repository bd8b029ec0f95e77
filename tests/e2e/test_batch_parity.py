"""Batch and live prices never disagree: 10,000 random requests over real HTTP.

The same rows go to `/v1/quote` on the local stack (router -> preprocess -> inference,
real processes, Green at 50% so both model versions answer) and through
`quoteflow score --model motor:1 --compare 2`. Each priced row's batch premium must be
the very float the live quote gave for the version that served it; each refused row
must carry in the rejects file the very field errors of the live 422.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from quoteflow.batch.cli import score
from quoteflow.local.stack import Stack
from quoteflow.products.motor.features import AREAS, BRANDS
from tests.e2e.helpers import make_stack, post_quotes, run

ROWS = 10_000


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    st = make_stack(trained_registry, tmp_path_factory.mktemp("stack"), green_weight=50)
    with st:
        yield st


def random_bodies(n: int, today: dt.date, seed: int = 9) -> list[dict[str, Any]]:
    """Requests across the rated domain, ~4% of them broken in a way live refuses."""
    rng = np.random.default_rng(seed)
    day = dt.timedelta(days=1)
    bodies = []
    for i in range(n):
        quote = today + int(rng.integers(-400, 60)) * day
        body: dict[str, Any] = {
            "driver_birth_date": (quote - int(rng.integers(18 * 366, 90 * 365)) * day).isoformat(),
            "vehicle_first_registration_date":
                (quote - int(rng.integers(0, 45 * 365)) * day).isoformat(),
            "vehicle_power": int(rng.integers(4, 16)),
            "vehicle_brand": str(rng.choice(BRANDS)),
            "area": str(rng.choice(AREAS)),
            "bonus_malus": int(rng.integers(50, 157)),
            "customer_key": f"cust-{rng.integers(1 << 40):x}",
            "quote_date": quote.isoformat(),
        }
        if rng.random() < 0.05:
            del body["quote_date"]  # live and batch both default to today
        if rng.random() < 0.04:
            broken = int(rng.integers(0, 6))
            if broken == 0:
                body["bonus_malus"] = 400
            elif broken == 1:
                body["vehicle_brand"] = "Tesla"
            elif broken == 2:
                body["driver_birth_date"] = (quote - 15 * 365 * day).isoformat()
            elif broken == 3:
                body["vehicle_first_registration_date"] = "2021-02-30"
            elif broken == 4:
                del body["area"]
            else:
                body["quote_date"] = (today + 200 * day).isoformat()
        body["policy_id"] = f"P{i:05d}"
        bodies.append(body)
    return bodies


def write_book(path: Path, bodies: list[dict[str, Any]]) -> None:
    names = ["policy_id", "driver_birth_date", "vehicle_first_registration_date",
             "vehicle_power", "vehicle_brand", "area", "bonus_malus", "customer_key",
             "quote_date"]
    types = {"vehicle_power": pa.int64(), "bonus_malus": pa.int64()}
    pq.write_table(pa.table({n: pa.array([b.get(n) for b in bodies], types.get(n, pa.string()))
                             for n in names}), path)


def test_batch_premium_is_the_live_premium(stack: Stack, trained_registry: Path,
                                           tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    bodies = random_bodies(ROWS, today)
    live = run(post_quotes(stack.config.url("router"),
                           ({k: v for k, v in b.items() if k != "policy_id"} for b in bodies),
                           concurrency=16))
    book = tmp_path / "book.parquet"
    write_book(book, bodies)
    result = CliRunner().invoke(score, [
        "--registry", str(trained_registry), "--model", "motor:1", "--compare", "2",
        "--input", str(book), "--output", str(tmp_path / "priced.parquet"),
        "--chunk-rows", "3000"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    priced = pq.read_table(tmp_path / "priced.parquet").to_pylist()
    by_row = {r["row_number"]: r for r in priced}
    rejected = {r["row_number"]: r for r in map(
        json.loads, (tmp_path / "priced.rejects.jsonl").read_text().splitlines())}
    served = {"1": 0, "2": 0}
    for i, (answer, body) in enumerate(zip(live, bodies, strict=True), start=1):
        status, reply = answer[0], answer[1]
        if status == 422:
            assert i in rejected, (i, body, reply)
            assert rejected[i]["errors"] == reply["detail"], (i, body)
            assert i not in by_row
            continue
        assert status == 200, (i, body, reply)
        assert i not in rejected, (i, body, rejected.get(i))
        row, version = by_row[i], reply["model"]["version"]
        served[version] += 1
        batch_premium = row["premium"] if version == "1" else row["compare_premium"]
        assert batch_premium == reply["premium"], (i, body, batch_premium, reply)
        if version == "1":
            for k in ("expected_frequency", "expected_severity", "pure_premium",
                      "minimum_applied"):
                assert row[k] == reply["breakdown"][k], (i, k)
    assert len(by_row) + len(rejected) == ROWS
    assert len(rejected) > 200  # the broken rows were really exercised
    assert served["1"] > 3_000 and served["2"] > 3_000, served
