"""The session's real motor training run (tests/conftest.py real_run), registered."""

from __future__ import annotations

from pathlib import Path

import pytest

from quoteflow.products.motor.training import pipeline
from quoteflow.registry import ModelVersion, Registry


@pytest.fixture(scope="session")
def real_versions(real_run: pipeline.TrainingResult,
                  tmp_path_factory: pytest.TempPathFactory) -> list[ModelVersion]:
    return pipeline.register(real_run, Registry(tmp_path_factory.mktemp("registry")))


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
