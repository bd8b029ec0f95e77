"""One real claims training run per session (generated claims), shared by the tests."""

from __future__ import annotations

import pytest

from quoteflow.products.claims import training
from quoteflow.registry import ModelVersion, Registry


@pytest.fixture(scope="session")
def claims_run() -> training.TrainingResult:
    return training.train(seed=training.DEFAULT_SEED)


@pytest.fixture(scope="session")
def claims_versions(claims_run: training.TrainingResult,
                    tmp_path_factory: pytest.TempPathFactory) -> list[ModelVersion]:
    """claims v1 (logistic regression) and v2 (gradient boosting) in a fresh registry."""
    return training.register(claims_run, Registry(tmp_path_factory.mktemp("claims-registry")))
