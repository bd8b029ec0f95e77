"""Time `quoteflow simulate`'s two parts on a synthetic book: frequencies, then the years.

    PYTHONPATH=services python loadtest/bench_simulate.py [--policies 100000] [--years 10000]
        [--registry DIR --model motor:2]

Without --registry a model is trained on synthetic data into a temporary registry
first (not timed). Prints a table; asserts nothing (goal: under a minute here).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def run(policies: int, years: int, registry: Path | None, model: str,
        parameter_uncertainty: bool = False) -> list[tuple[str, float, str]]:
    from quoteflow.actuarial import aggregate
    from quoteflow.actuarial.severity_dist import from_metadata
    from quoteflow.products.motor import requests
    from quoteflow.products.motor.training import pipeline, synthetic
    from quoteflow.simulate.book import book_frequency

    work = Path(tempfile.mkdtemp(prefix="bench-simulate-"))
    if registry is None:
        registry = work / "registry"
        pipeline.train_and_register(
            registry, policies=synthetic.write(synthetic.policies(4000, 1), work / "p.parquet"),
            claims=synthetic.write(synthetic.claims(600, 2), work / "c.csv"),
            cpi=synthetic.write(synthetic.cpi_table((2015, 2024)), work / "cpi.csv"),
            base_year=2024, name="bench")
        model = "bench:1"
    import pandas as pd

    book = work / "book.parquet"
    pd.DataFrame(requests.from_policies(synthetic.policies(policies, 3), "2025-06-02", 4)
                 ).to_parquet(book, index=False)
    rows: list[tuple[str, float, str]] = []
    t0 = time.perf_counter()
    bf = book_frequency(registry, model, book)
    rows.append(("frequencies (ONNX)", time.perf_counter() - t0, f"{len(bf.frequency):,} policies"))
    meta = bf.model.metadata["severity"]
    sev = from_metadata(meta)
    post = aggregate.posterior_models(meta) if parameter_uncertainty else None
    lam = float(bf.frequency.sum())
    t0 = time.perf_counter()
    losses = aggregate.annual_losses(lam, sev, years, 42, post)
    rows.append(("annual losses", time.perf_counter() - t0,
                 f"{years:,} years, {lam * years:,.0f} claims"))
    s = aggregate.risk_summary(losses)
    rows.append(("total", sum(r[1] for r in rows), f"mean {s.mean:,.0f}, VaR99.5 "
                 f"{s.var[0.995]:,.0f}"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--policies", type=int, default=100_000)
    ap.add_argument("--years", type=int, default=10_000)
    ap.add_argument("--registry", type=Path)
    ap.add_argument("--model", default="motor:2")
    ap.add_argument("--parameter-uncertainty", action="store_true")
    a = ap.parse_args()
    rows = run(a.policies, a.years, a.registry, a.model, a.parameter_uncertainty)
    print(f"{'step':<22} {'seconds':>8}  detail")
    for name, secs, detail in rows:
        print(f"{name:<22} {secs:>8.2f}  {detail}")


if __name__ == "__main__":
    main()
