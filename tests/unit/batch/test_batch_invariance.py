"""A row's price must not depend on the batch it is scored in (live scores one at a time).

Found while building batch scoring: with two intra-op threads onnxruntime's tree
ensemble splits large batches differently from single rows, and about half of the
gradient-boosting premiums moved in the last bits (relative 6e-7). The batch scorer
therefore loads models exactly as inference does (one intra-op thread); this test
holds both shipped model types to bit-for-bit equality across batch sizes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from quoteflow.batch.scorer import load_model, predict
from quoteflow.products.motor import features as F
from quoteflow.registry import Registry


def random_features(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return F.design_matrix(rng.integers(18, 92, n), rng.integers(0, 51, n),
                           rng.integers(4, 16, n), rng.integers(50, 157, n),
                           rng.choice(F.AREAS, n), rng.choice(F.BRANDS, n))


@pytest.mark.parametrize("version", ["1", "2"])
def test_premium_is_batch_invariant(trained_registry: Path, version: str) -> None:
    model = load_model(Registry(trained_registry), f"motor:{version}")
    x = random_features(2_000)
    alone = np.array([model.run(x[i:i + 1])["premium"][0] for i in range(len(x))])
    for size in (2, 7, 64, 1000):
        batched = np.concatenate([model.run(x[i:i + size])["premium"]
                                  for i in range(0, len(x), size)])
        assert np.array_equal(batched, alone), (version, size)
    assert np.array_equal(predict(model, x)["premium"], alone)


def claims_features(n: int) -> np.ndarray:
    import datetime as dt

    from quoteflow import products
    from quoteflow.products.claims import generator

    product = products.get("claims")
    reqs = [product.request_model.model_validate(r)
            for r in generator.generate(n, seed=4).requests(range(n))]
    return product.features(product.columns(reqs, dt.date(2026, 12, 1)))


def test_a_graph_that_is_not_batch_invariant_is_scored_row_by_row(
        trained_registry: Path, claims_registry: Path) -> None:
    """The claims logistic regression (LinearClassifier, float32) answers a row in a
    batch 1-2 ulp off its answer alone; the scorer finds it and scores a row per call,
    so batch keeps the live answer. Motor's graphs keep their batches."""
    from quoteflow.batch.scorer import Scorer, batch_invariant

    claims = load_model(Registry(claims_registry), "claims:1")
    x = claims_features(300)
    assert not batch_invariant(claims, x)
    alone = np.concatenate([claims.run(x[i:i + 1])["probabilities"] for i in range(len(x))])
    scorer = Scorer(claims)
    assert np.array_equal(scorer._predict(claims, x)["probabilities"], alone)
    assert scorer.row_by_row == ["1"]
    motor = load_model(Registry(trained_registry), "motor:1")
    assert batch_invariant(motor, random_features(300))
