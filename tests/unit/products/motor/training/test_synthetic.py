"""The synthetic generator: seeded, inside the domain, consistent with the quote path."""

from __future__ import annotations

import numpy as np
import pandas as pd

from quoteflow.products.motor import features, requests
from quoteflow.products.motor.contract import QuoteRequest
from quoteflow.products.motor.training import loaders, synthetic


def test_seeded_and_inside_the_domain() -> None:
    a, b = synthetic.policies(5000, seed=9), synthetic.policies(5000, seed=9)
    pd.testing.assert_frame_equal(a, b)
    assert not synthetic.policies(5000, seed=10).equals(a)
    f = loaders.filter_domain(loaders.validate_policies(a, "synthetic"))
    assert f.dropped == 0
    # claim counts follow the known frequency: totals agree within 4 standard errors
    expected = (synthetic.Truth().frequency(loaders.design(a)) * a["Exposure"]).sum()
    assert abs(a["ClaimNb"].sum() - expected) < 4 * np.sqrt(expected)


def test_claims_are_seeded_and_valid() -> None:
    c = synthetic.claims(1000, seed=1, years=(2018, 2020))
    pd.testing.assert_frame_equal(c, synthetic.claims(1000, seed=1, years=(2018, 2020)))
    v = loaders.validate_claims(c, "synthetic")
    assert set(v["accident_year"]) == {2018, 2019, 2020} and (v["amount"] > 0).all()


def test_their_quote_requests_derive_the_same_features_as_the_policies() -> None:
    frame = synthetic.policies(3000, seed=6)
    bodies = requests.from_policies(frame, "2026-03-01", seed=6)
    reqs = [QuoteRequest.model_validate(b) for b in bodies]
    q = features.QuoteColumns(
        driver_birth_date=np.array([r.driver_birth_date for r in reqs], dtype="datetime64[D]"),
        vehicle_first_registration_date=np.array(
            [r.vehicle_first_registration_date for r in reqs], dtype="datetime64[D]"),
        quote_date=np.array([r.quote_date for r in reqs], dtype="datetime64[D]"),
        vehicle_power=np.array([r.vehicle_power for r in reqs]),
        bonus_malus=np.array([r.bonus_malus for r in reqs]),
        area=np.array([r.area for r in reqs], dtype=object),
        vehicle_brand=np.array([r.vehicle_brand for r in reqs], dtype=object))
    assert features.quote_errors(q, np.datetime64("2026-03-01")) == []
    np.testing.assert_array_equal(features.quote_features(q), loaders.design(frame))
