"""Motor registries for tests, written from one training run (never trained again)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quoteflow.products.motor.training.pipeline import TrainingResult


def register_run(run: TrainingResult, root: Path) -> Path:
    """Register the run's two models (GLM first) as the next two versions in ``root``."""
    from quoteflow.products.motor.training import pipeline
    from quoteflow.registry import Registry

    pipeline.register(run, Registry(root))
    return root
