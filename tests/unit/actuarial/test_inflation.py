"""Indexing claims by accident year, on synthetic claims with a synthetic CPI table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quoteflow.actuarial import danish
from quoteflow.actuarial.errors import DataError
from quoteflow.actuarial.inflation import CpiTable, IndexingError, index_amounts
from quoteflow.products.motor.training import loaders, synthetic


def cpi(tmp_path: Path, years: tuple[int, int] = (2015, 2024), rate: float = 0.02) -> CpiTable:
    path = synthetic.write(synthetic.cpi_table(years, rate), tmp_path / "cpi.csv")
    return CpiTable.load(path)


def test_amounts_are_indexed_to_the_base_year(tmp_path: Path) -> None:
    table = cpi(tmp_path)
    claims = synthetic.claims(500, seed=2, years=(2015, 2024))
    frame = loaders.validate_claims(claims, "synthetic")
    indexed, summary = index_amounts(frame["amount"].to_numpy(),
                                     frame["accident_year"].to_numpy(), table, base_year=2024)
    expected = frame["amount"].to_numpy() * 1.02 ** (2024 - frame["accident_year"].to_numpy())
    np.testing.assert_allclose(indexed, expected, rtol=1e-12)
    assert summary.factor_by_year[2024] == 1.0
    assert summary.factor_by_year[2015] == pytest.approx(1.02 ** 9)
    assert sum(summary.claims_by_year.values()) == 500 and not summary.substituted


def test_a_year_without_an_index_is_an_error_by_default(tmp_path: Path) -> None:
    table = cpi(tmp_path, (2016, 2024))
    with pytest.raises(IndexingError, match=r"no index for accident year\(s\) 2014 \(2 claims\), "
                                            r"2015 \(1 claims\).*--missing-index nearest"):
        index_amounts(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2014, 2014, 2015, 2020]),
                      table, base_year=2024)


def test_nearest_policy_is_explicit_and_recorded(tmp_path: Path) -> None:
    table = cpi(tmp_path, (2016, 2020))
    indexed, summary = index_amounts(np.array([100.0, 100.0]), np.array([2014, 2022]), table,
                                     base_year=2020, missing="nearest")
    assert summary.substituted == {2014: 2016, 2022: 2020}
    np.testing.assert_allclose(indexed, [100 * 1.02 ** 4, 100.0])


def test_base_year_must_be_in_the_table(tmp_path: Path) -> None:
    with pytest.raises(IndexingError, match="no index for the base year 2030"):
        index_amounts(np.array([1.0]), np.array([2016]), cpi(tmp_path), base_year=2030)


def test_bad_cpi_tables(tmp_path: Path) -> None:
    path = tmp_path / "cpi.csv"
    path.write_text("year,index\n2020,100\n2021,-3\n")
    with pytest.raises(DataError, match=r"cpi\.csv: column 'index' is not a positive number"):
        CpiTable.load(path)
    path.write_text("year,index\n2020,100\n2020,101\n")
    with pytest.raises(DataError, match=r"repeats years \[2020\]"):
        CpiTable.load(path)
    path.write_text("yr,index\n2020,100\n")
    with pytest.raises(DataError, match="missing column 'year'"):
        CpiTable.load(path)


def test_shipped_table_does_not_index_danishuni_twice() -> None:
    # danishuni is already at 1985 values (fitdistrplus docs): the shipped table is
    # flat over its years, so indexing leaves the amounts unchanged.
    table = CpiTable.load(danish.CPI_TABLE)
    claims = danish.load()
    base = danish.BASE_YEAR
    assert base == 1985
    indexed, summary = index_amounts(claims["amount"].to_numpy(),
                                     claims["accident_year"].to_numpy(), table, base)
    np.testing.assert_array_equal(indexed, claims["amount"].to_numpy())
    assert set(summary.claims_by_year) <= set(table.index)
    assert "already" in danish.CPI_TABLE.read_text()
