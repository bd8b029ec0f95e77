"""`quoteflow score` end to end in-process: streaming, formats, rejects, model refs."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
from click.testing import CliRunner

from quoteflow import products
from quoteflow.batch.cli import score
from quoteflow.preprocess.derive import Rejected, derive
from quoteflow.registry import Registry

from . import books

TODAY = dt.datetime.now(dt.UTC).date()


def run_score(registry: Path, *args: str) -> str:
    result = CliRunner().invoke(score, ["--registry", str(registry), *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def fail_score(registry: Path, *args: str) -> str:
    result = CliRunner().invoke(score, ["--registry", str(registry), *args])
    assert result.exit_code != 0, result.output
    return result.output


def rejects(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_small_chunks_give_the_same_output_as_one_chunk(trained_registry: Path,
                                                        tmp_path: Path) -> None:
    book = books.synthetic(tmp_path / "book.parquet", 2_000)
    run_score(trained_registry, "--model", "motor:2", "--input", str(book),
              "--output", str(tmp_path / "one.parquet"))
    run_score(trained_registry, "--model", "motor:2", "--input", str(book),
              "--output", str(tmp_path / "many.parquet"), "--chunk-rows", "7")
    one, many = books.read(tmp_path / "one.parquet"), books.read(tmp_path / "many.parquet")
    assert one.num_rows > 1_900
    assert one.equals(many)
    assert (tmp_path / "one.rejects.jsonl").read_text() == (
        tmp_path / "many.rejects.jsonl").read_text()
    assert one.num_rows + len(rejects(tmp_path / "one.rejects.jsonl")) == 2_000


@pytest.mark.parametrize(("src", "dst"), [("csv", "csv"), ("csv", "parquet"),
                                          ("parquet", "csv")])
def test_csv_and_parquet_in_and_out_price_alike(trained_registry: Path, tmp_path: Path,
                                                src: str, dst: str) -> None:
    table = books.book_table(500, 5, books.QUOTE_DATE, 0.02)
    books.write(tmp_path / "ref.parquet", table)
    books.write(tmp_path / f"book.{src}", table)
    run_score(trained_registry, "--model", "motor:1", "--input", str(tmp_path / "ref.parquet"),
              "--output", str(tmp_path / "ref-out.parquet"))
    run_score(trained_registry, "--model", "motor:1", "--input", str(tmp_path / f"book.{src}"),
              "--output", str(tmp_path / f"out.{dst}"))
    ref, got = books.read(tmp_path / "ref-out.parquet"), books.read(tmp_path / f"out.{dst}")
    for col in ("row_number", "policy_id", "premium", "expected_frequency", "pure_premium",
                "minimum_applied", "model_version"):
        assert got.column(col).to_pylist() == ref.column(col).to_pylist(), col


def live_errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the live preprocess answers for this body (its own function, in-process)."""
    outcome = derive(products.get("motor"), orjson.dumps(body), TODAY)
    assert isinstance(outcome, Rejected), outcome
    return outcome.errors


BAD_ROWS: list[dict[str, Any]] = [
    {"vehicle_brand": "B99"},
    {"area": "c"},
    {"driver_birth_date": (books.QUOTE_DATE - dt.timedelta(days=16 * 365)).isoformat()},
    {"driver_birth_date": "1985-4-12"},
    {"driver_birth_date": "19850412"},
    {"vehicle_first_registration_date": "2021-02-30"},  # arrow's strptime rolls it over
    {"vehicle_first_registration_date": "2030-01-01"},
    {"bonus_malus": 300, "vehicle_power": 2},
    {"customer_key": "has space"},
    {"quote_date": (TODAY + dt.timedelta(days=120)).isoformat()},
    {"area": None},  # an empty cell: the field is absent
]


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_rejected_rows_carry_the_live_message(trained_registry: Path, tmp_path: Path,
                                              fmt: str) -> None:
    rows = [dict(books.GOOD, policy_id=f"P{i}") for i in range(3)]
    for i, change in enumerate(BAD_ROWS):
        rows.append({**books.GOOD, **change, "policy_id": f"B{i}"})
    rows.append(dict(books.GOOD, policy_id="last"))
    book = books.from_rows(tmp_path / f"book.{fmt}", rows)
    out = run_score(trained_registry, "--model", "motor:1", "--input", str(book),
                    "--output", str(tmp_path / "out.parquet"),
                    "--rejects", str(tmp_path / "bad.jsonl"))
    assert f"rejected   {len(BAD_ROWS)}" in out
    got = rejects(tmp_path / "bad.jsonl")
    assert [r["row_number"] for r in got] == list(range(4, 4 + len(BAD_ROWS)))
    for r, change in zip(got, BAD_ROWS, strict=True):
        body = {k: v for k, v in {**books.GOOD, **change}.items() if v is not None}
        assert r["input"] == body
        assert r["policy_id"] == f"B{r['row_number'] - 4}"
        assert r["errors"] == live_errors(body), body
    priced = books.read(tmp_path / "out.parquet")
    assert priced.column("policy_id").to_pylist() == ["P0", "P1", "P2", "last"]
    assert priced.column("row_number").to_pylist() == [1, 2, 3, 4 + len(BAD_ROWS)]


def test_parquet_types_are_judged_as_json_types(trained_registry: Path, tmp_path: Path) -> None:
    """A float column is a JSON number with a fraction: strict ints refuse it, as live."""
    schema = pa.schema([("driver_birth_date", pa.date32()),
                        ("vehicle_first_registration_date", pa.timestamp("s")),
                        ("vehicle_power", pa.float64()), ("vehicle_brand", pa.string()),
                        ("area", pa.dictionary(pa.int32(), pa.string())),
                        ("bonus_malus", pa.int32())])
    rows = [{"driver_birth_date": dt.date(1980, 1, 2),
             "vehicle_first_registration_date": dt.datetime(2020, 5, 1, 0, 0),
             "vehicle_power": 6.0, "vehicle_brand": "B1", "area": "D", "bonus_malus": 60},
            {"driver_birth_date": dt.date(1980, 1, 2),
             "vehicle_first_registration_date": dt.datetime(2020, 5, 1, 13, 30),
             "vehicle_power": 6.0, "vehicle_brand": "B1", "area": "D", "bonus_malus": 60}]
    book = books.from_rows(tmp_path / "typed.parquet", rows, schema)
    run_score(trained_registry, "--model", "motor:1", "--input", str(book),
              "--output", str(tmp_path / "out.csv"), "--quote-date", "2026-01-10")
    got = rejects(tmp_path / "out.rejects.jsonl")
    assert [r["row_number"] for r in got] == [1, 2]
    for r in got:
        assert r["input"]["vehicle_power"] == 6.0
        assert r["errors"] == live_errors({**r["input"], "quote_date": "2026-01-10"})
    assert [e["type"] for e in got[1]["errors"]] == ["date_from_datetime_inexact", "int_type"]


def test_model_by_version_latest_and_stage(trained_registry: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(trained_registry, registry)  # stage moves must not touch the shared one
    Registry(registry).move("motor", "1", "Staging", "test", "batch stage test")
    book = books.synthetic(tmp_path / "book.csv", 50, bad_share=0)
    for ref, version in [("motor:1", "1"), ("motor:2", "2"), ("motor", "2"),
                         ("motor@staging", "1")]:
        out = tmp_path / f"{ref.replace(':', '_').replace('@', '_')}.parquet"
        text = run_score(registry, "--model", ref, "--input", str(book), "--output", str(out))
        assert f"model      motor version {version}" in text
        priced = books.read(out)
        assert set(priced.column("model_version").to_pylist()) == {version}
        sha = Registry(registry).get("motor", version).sha256
        assert set(priced.column("model_sha256").to_pylist()) == {sha}
    err = fail_score(registry, "--model", "motor@production", "--input", str(book),
                     "--output", str(tmp_path / "x.parquet"))
    assert "model motor has no version in stage Production" in err
    err = fail_score(registry, "--model", "motor:9", "--input", str(book),
                     "--output", str(tmp_path / "x.parquet"))
    assert "model motor version 9 not found" in err


def test_bad_files_name_the_file_and_the_column(trained_registry: Path, tmp_path: Path) -> None:
    table = books.book_table(20, 1, books.QUOTE_DATE).drop_columns(["bonus_malus", "area"])
    for fmt in ("csv", "parquet"):
        path = tmp_path / f"nocol.{fmt}"
        books.write(path, table)
        err = fail_score(trained_registry, "--model", "motor:1", "--input", str(path),
                         "--output", str(tmp_path / "o.parquet"))
        assert f"{path}: missing columns area, bonus_malus" in err
    garbage = tmp_path / "garbage.parquet"
    garbage.write_bytes(b"this is not parquet at all\n" * 10)
    err = fail_score(trained_registry, "--model", "motor:1", "--input", str(garbage),
                     "--output", str(tmp_path / "o.parquet"))
    assert f"{garbage}: unreadable parquet file" in err
    ragged = tmp_path / "ragged.csv"
    ragged.write_text(",".join(books.GOOD) + "\n" + "1985-04-12,2019-09-01,6\n")
    err = fail_score(trained_registry, "--model", "motor:1", "--input", str(ragged),
                     "--output", str(tmp_path / "o.parquet"))
    assert f"{ragged}: unreadable csv" in err
    assert not (tmp_path / "o.parquet").exists()  # no half-written output
    err = fail_score(trained_registry, "--model", "motor:1", "--input",
                     str(tmp_path / "absent.csv"), "--output", str(tmp_path / "o.parquet"))
    assert f"{tmp_path / 'absent.csv'}: no such file" in err
    err = fail_score(trained_registry, "--model", "motor:1", "--input", str(ragged),
                     "--output", str(tmp_path / "o.xlsx"))
    assert "o.xlsx: unknown format '.xlsx'" in err


def test_compare_and_plot(trained_registry: Path, tmp_path: Path) -> None:
    book = books.synthetic(tmp_path / "book.parquet", 300)
    text = run_score(trained_registry, "--model", "motor:2", "--compare", "1", "--input",
                     str(book), "--output", str(tmp_path / "new.parquet"),
                     "--plot", str(tmp_path / "change.png"))
    run_score(trained_registry, "--model", "motor:1", "--input", str(book),
              "--output", str(tmp_path / "old.parquet"))
    new, old = books.read(tmp_path / "new.parquet"), books.read(tmp_path / "old.parquet")
    assert new.column("compare_premium").to_pylist() == old.column("premium").to_pylist()
    assert set(new.column("compare_version").to_pylist()) == {"1"}
    assert (tmp_path / "change.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "compare    version 1 mean" in text
    assert "rows/s" in text


def test_empty_book_gives_empty_outputs(trained_registry: Path, tmp_path: Path) -> None:
    book = tmp_path / "empty.csv"
    book.write_text(",".join(books.GOOD) + "\n")
    run_score(trained_registry, "--model", "motor:1", "--input", str(book),
              "--output", str(tmp_path / "out.csv"))
    assert books.read(tmp_path / "out.csv").num_rows == 0
    assert (tmp_path / "out.rejects.jsonl").read_text() == ""


def test_plot_by_default_beside_the_output(trained_registry: Path, tmp_path: Path) -> None:
    book = books.synthetic(tmp_path / "book.parquet", 200)
    text = run_score(trained_registry, "--model", "motor:1", "--input", str(book),
                     "--output", str(tmp_path / "priced.parquet"))
    assert (tmp_path / "priced.premiums.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"plot       {tmp_path / 'priced.premiums.png'}" in text
    text = run_score(trained_registry, "--model", "motor:1", "--input", str(book),
                     "--output", str(tmp_path / "quiet.parquet"), "--no-plot")
    assert not (tmp_path / "quiet.premiums.png").exists()
    assert "plot " not in text
    err = fail_score(trained_registry, "--model", "motor:1", "--input", str(book),
                     "--output", str(tmp_path / "lost.parquet"),
                     "--plot", str(tmp_path / "absent" / "p.png"))
    assert f"{tmp_path / 'absent' / 'p.png'}: plot folder {tmp_path / 'absent'} does not exist" \
        in err
    assert not (tmp_path / "lost.parquet").exists()  # refused before any work
