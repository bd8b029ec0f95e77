"""The pricing config: shipped values, validation, the formula."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quoteflow.products.motor.pricing import FORMULA, PricingConfig, PricingConfigError

GOOD = ("currency: DKK\nbase_year: 2024\nexpense_loading: 0.2\nprofit_loading: 0.05\n"
        "minimum_premium: 500\n")


def test_shipped_config() -> None:
    cfg = PricingConfig.shipped()  # the one pricing config: base.yaml's pricing section
    assert cfg.currency == "EUR" and cfg.base_year == 2012 and cfg.minor_unit == 2
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
    (("minimum_premium: 500", "minimum_premium: -1"), "minimum_premium: Input should be "
                                                      "greater than or equal to 0"),
    (("expense_loading: 0.2", "expense_loading: 1.5"), r"expense_loading: Input should be "
                                                       "less than 1"),
    (("currency: DKK", "currency: kroner"), "currency: String should match pattern"),
    (("base_year: 2024", "base_year: soon"), "base_year: Input should be a valid integer"),
    (("currency: DKK", "currency: DKK\ntax: 0.1"), "tax: Extra inputs are not permitted"),
    (("profit_loading: 0.05\n", ""), "profit_loading: Field required"),
])
def test_bad_configs(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace(*edit))
    with pytest.raises(PricingConfigError, match=message):
        PricingConfig.load(path)
