"""`quoteflow simulate` on a model trained on synthetic data: mean vs expected loss, CLI, bench."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from quoteflow.actuarial import aggregate
from quoteflow.actuarial.severity_dist import from_metadata
from quoteflow.cli import main
from quoteflow.products.motor import requests
from quoteflow.products.motor.training import pipeline, synthetic
from quoteflow.registry import ModelVersion
from quoteflow.simulate.book import book_frequency

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ModelVersion], Path]:
    d = tmp_path_factory.mktemp("sim")
    versions = pipeline.train_and_register(
        d / "registry", policies=synthetic.write(synthetic.policies(4000, 1), d / "p.parquet"),
        claims=synthetic.write(synthetic.claims(800, 2), d / "c.csv"),
        cpi=synthetic.write(synthetic.cpi_table((2015, 2024)), d / "cpi.csv"),
        base_year=2024, name="sim")
    book = pd.DataFrame(requests.from_policies(synthetic.policies(2000, 3), "2025-06-02", 4))
    book.loc[0, "bonus_malus"] = 10  # one row the live API refuses
    path = d / "book.csv"
    book.to_csv(path, index=False)
    return d / "registry", versions, path


def test_mean_matches_the_expected_loss_within_monte_carlo_error(trained) -> None:  # type: ignore[no-untyped-def]
    registry, versions, book = trained
    bf = book_frequency(registry, "sim:1", book)
    assert (bf.rows, bf.rejected, len(bf.frequency)) == (2000, 1, 1999)
    sev = from_metadata(versions[0].metadata["severity"])
    assert float(sev.mean()) == pytest.approx(versions[0].metadata["severity"]["mean"])
    expected = float(bf.frequency.sum()) * float(sev.mean())  # sum of frequency x severity
    losses = aggregate.annual_losses(float(bf.frequency.sum()), sev, 20_000, seed=7)
    s = aggregate.risk_summary(losses)
    assert abs(s.mean - expected) < 4 * s.std / np.sqrt(len(losses))
    assert s.var[0.99] < s.var[0.995] < s.tvar[0.995] and s.var[0.99] < s.tvar[0.99]
    again = aggregate.annual_losses(float(bf.frequency.sum()), sev, 20_000, seed=7)
    np.testing.assert_array_equal(losses, again)  # seeded


def test_parameter_uncertainty_widens_the_distribution(trained) -> None:  # type: ignore[no-untyped-def]
    _, versions, _ = trained
    meta = versions[0].metadata["severity"]
    sev, post = from_metadata(meta), aggregate.posterior_models(meta)
    plain = aggregate.annual_losses(50.0, sev, 20_000, seed=1)
    wide = aggregate.annual_losses(50.0, sev, 20_000, seed=1, posterior=post)
    assert np.std(wide) > np.std(plain)
    assert abs(np.mean(wide) / np.mean(plain) - 1) < 0.1


def test_cli_book_and_claims(trained, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    registry, _, book = trained
    runner = CliRunner()
    png = tmp_path / "loss.png"
    r = runner.invoke(main, ["simulate", "--model", "sim:2", "--book", str(book), "--years",
                             "2000", "--seed", "3", "--plot", str(png), "--registry",
                             str(registry), "--parameter-uncertainty"])
    assert r.exit_code == 0, r.output
    for text in ("1 rejected", "VaR 99.5%", "TVaR 99.0%", "mean", "std"):
        assert text in r.output
    assert png.read_bytes()[:4] == b"\x89PNG"
    r = runner.invoke(main, ["simulate", "--model", "sim:1", "--claims", "5000",
                             "--registry", str(registry)])
    assert r.exit_code == 0 and "5,000 claims" in r.output and "99.5% quantile" in r.output
    r = runner.invoke(main, ["simulate", "--model", "sim:1", "--registry", str(registry)])
    assert r.exit_code != 0 and "either --book FILE or --claims N" in r.output


def test_bench_table_shape_on_a_tiny_book(trained) -> None:  # type: ignore[no-untyped-def]
    registry, _, _ = trained
    spec = importlib.util.spec_from_file_location("bench_simulate",
                                                  ROOT / "loadtest" / "bench_simulate.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rows = bench.run(200, 100, registry, "sim:1")
    assert [r[0] for r in rows] == ["frequencies (ONNX)", "annual losses", "total"]
    assert all(r[1] >= 0 for r in rows) and "200 policies" in rows[0][2]
