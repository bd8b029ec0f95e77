"""Shared fixtures: the example models, trained once per test session on the real data."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.motor_registry import register_run

if TYPE_CHECKING:
    from quoteflow.products.motor.training.pipeline import TrainingResult


@pytest.fixture(scope="session")
def real_run() -> TrainingResult:
    """Motor's one real training run of the session (freMTPLmini + Danish fire losses,
    the default seed): what `quoteflow train` makes with no arguments. Registries of it
    are written from this, never trained again (each training is about a minute)."""
    from quoteflow.products.motor.training import pipeline

    return pipeline.train(seed=pipeline.DEFAULT_SEED)


@pytest.fixture(scope="session")
def trained_registry(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding model `motor` v1 (Poisson GLM) and v2 (gradient boosting).

    Trained for real, once per session. QUOTEFLOW_TEST_REGISTRY may point at an
    already trained registry to save the minute when iterating locally; CI never sets it.
    """
    given = os.environ.get("QUOTEFLOW_TEST_REGISTRY")
    if given:
        return Path(given)
    return register_run(request.getfixturevalue("real_run"), tmp_path_factory.mktemp("registry"))


@pytest.fixture(scope="session")
def claims_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding model `claims` v1 (logistic regression) and v2 (gradient
    boosting), trained on generated claims once per session (~17 s).
    QUOTEFLOW_TEST_CLAIMS_REGISTRY may point at one already trained (never in CI)."""
    given = os.environ.get("QUOTEFLOW_TEST_CLAIMS_REGISTRY")
    if given:
        return Path(given)
    from quoteflow import products

    root = tmp_path_factory.mktemp("claims-registry")
    products.get("claims").train_and_register(root)
    return root
