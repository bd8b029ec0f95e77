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
