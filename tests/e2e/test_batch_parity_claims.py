"""`quoteflow score --model claims` triages a file of claims as the live API does.

2,000 generated claims (about 5% broken the ways an agent's app could send them) go
to `/v1/claims/triage` on a real claims stack and through `quoteflow score`, from CSV
and from Parquet. Each triaged row's batch decision, probabilities and reasons must be
the live answer's, to the float; each refused row must carry in the rejects file the
very field errors of the live 422.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from quoteflow.batch.cli import score
from quoteflow.local.stack import Stack
from quoteflow.products.claims import generator
from tests.e2e.helpers import make_stack, post_quotes, run

ROWS = 2_000
CLASSES = ("valid", "fraud", "review")


@pytest.fixture(scope="module")
def stack(claims_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    st = make_stack(claims_registry, tmp_path_factory.mktemp("claims-stack"),
                    model_name="claims", green_version=None)
    with st:
        yield st


def claims(seed: int = 4) -> list[dict[str, Any]]:
    rows = generator.generate(ROWS, seed=seed).requests(range(ROWS))
    rng = np.random.default_rng(seed)
    for i, body in enumerate(rows):
        body["claim_reference"] = f"CLM-2026-{i:06d}"
        if rng.random() < 0.05:
            broken = int(rng.integers(0, 4))
            if broken == 0:
                body["line"] = "boat"
            elif broken == 1:
                body["claimant_age"] = 7
            elif broken == 2:
                body["incident_date"] = "2026-02-30"
            else:
                del body["claimed_amount"]
    return rows


def table(rows: list[dict[str, Any]]) -> pa.Table:
    names = list(generator.generate(1, seed=0).fields)
    types = {"claimant_age": pa.int64(), "claimed_amount": pa.float64(),
             "sum_insured": pa.float64(), "prior_claims_3y": pa.int64(),
             "police_or_medical_report": pa.bool_(), "witnesses": pa.int64(),
             "documents_attached": pa.int64()}
    return pa.table({n: pa.array([r.get(n) for r in rows], types.get(n, pa.string()))
                     for n in names})


def scored(registry: Path, book: Path, out: Path) -> tuple[dict[int, Any], dict[int, Any]]:
    result = CliRunner().invoke(score, ["--registry", str(registry), "--model", "claims:1",
                                        "--input", str(book), "--output", str(out),
                                        "--chunk-rows", "700", "--no-plot"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    priced = {r["row_number"]: r for r in pq.read_table(out).to_pylist()}
    rejects = out.with_name(out.stem + ".rejects.jsonl")
    rejected = {r["row_number"]: r for r in map(json.loads,
                                                rejects.read_text().splitlines())}
    return priced, rejected


def test_batch_triage_is_the_live_triage(stack: Stack, claims_registry: Path,
                                         tmp_path: Path) -> None:
    rows = claims()
    live = run(post_quotes(stack.config.url("router"), rows, path="/v1/claims/triage"))
    pq.write_table(table(rows), tmp_path / "claims.parquet")
    pacsv.write_csv(table(rows), tmp_path / "claims.csv")
    from_parquet = scored(claims_registry, tmp_path / "claims.parquet", tmp_path / "p.parquet")
    from_csv = scored(claims_registry, tmp_path / "claims.csv", tmp_path / "c.parquet")
    assert from_csv == from_parquet  # the file format changes nothing
    by_row, rejected = from_parquet
    for i, (answer, body) in enumerate(zip(live, rows, strict=True), start=1):
        if answer.status == 422:
            assert i in rejected and i not in by_row, (i, body)
            assert rejected[i]["errors"] == answer.body["detail"], (i, body)
            continue
        assert answer.status == 200, (i, body, answer.body)
        row = by_row[i]
        assert row["decision"] == answer.body["decision"], (i, body)
        for c in CLASSES:
            assert row[f"probability_{c}"] == answer.body["probabilities"][c], (i, c)
        assert row["reasons"].split(" | ") == answer.body["reasons"], (i, row["reasons"])
    assert len(by_row) + len(rejected) == ROWS
    assert len(rejected) > 50  # the broken rows were really exercised
    assert {r["decision"] for r in by_row.values()} == set(CLASSES)


def test_a_claims_book_without_a_required_column_is_refused_by_name(
        claims_registry: Path, tmp_path: Path) -> None:
    book = tmp_path / "claims.csv"
    pacsv.write_csv(table(claims()[:10]).drop_columns(["line"]), book)
    result = CliRunner().invoke(score, ["--registry", str(claims_registry), "--model",
                                        "claims", "--input", str(book), "--output",
                                        str(tmp_path / "o.parquet"), "--no-plot"])
    assert result.exit_code != 0
    assert "missing column line" in result.output, result.output
