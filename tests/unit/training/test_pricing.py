"""The pricing config: shipped values, validation, the formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quoteflow.products.motor.pricing import FORMULA, PricingConfig, PricingConfigError
from quoteflow.training import paths

GOOD = ("currency: DKK\nbase_year: 2024\nexpense_loading: 0.2\nprofit_loading: 0.05\n"
        "minimum_premium: 500\n")


def test_shipped_config() -> None:
    cfg = PricingConfig.load(paths.PRICING_CONFIG)
    assert cfg.currency == "DKK" and cfg.base_year == 1985
    meta = cfg.as_metadata()
    assert {"currency", "expense_loading", "profit_loading", "minimum_premium",
            "formula"} <= set(meta)
    assert meta["formula"] == FORMULA


def test_formula(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD)
    cfg = PricingConfig.load(path)
    np.testing.assert_allclose(cfg.premium(np.array([0.001, 0.1]), 10_000.0),
                               [500.0, 0.1 * 10_000 * 1.25])


@pytest.mark.parametrize(("edit", "message"), [
    (("minimum_premium: 500", "minimum_premium: -1"), "must not be negative"),
    (("expense_loading: 0.2", "expense_loading: 1.5"), r"expense_loading must be a fraction"),
    (("currency: DKK", "currency: kroner"), "ISO 4217"),
    (("base_year: 2024", "base_year: soon"), "invalid literal"),
    (("currency: DKK", "currency: DKK\ntax: 0.1"), r"unknown keys \['tax'\]"),
    (("profit_loading: 0.05\n", ""), r"missing keys \['profit_loading'\]"),
])
def test_bad_configs(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace(*edit))
    with pytest.raises(PricingConfigError, match=message):
        PricingConfig.load(path)
