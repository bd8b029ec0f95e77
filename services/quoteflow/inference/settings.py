"""inference settings, from QUOTEFLOW_INFERENCE_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from quoteflow.tracing import TracingSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTEFLOW_INFERENCE_",
                                      env_nested_delimiter="__")

    registry_dir: Path
    model_name: str = "motor"
    model_version: str  # pinned: inference never picks a version at run time
    # Pinned too: this color's versions in scheduled tariffs (JSON list, '["3"]'); the
    # router names one in a predict call for a cover starting under its tariff.
    extra_versions: list[str] = []
    # One intra-op thread: batch=1 models gain nothing from more, and two services
    # share two cores here (measured: see README "Performance").
    intra_op_threads: int = 1
    max_batch_rows: int = 10_000
    max_body_bytes: int = 8 * 1024 * 1024
    drift_window: int = 5000
    # Drills only: added to every predict call to play a slow model.
    artificial_delay_ms: float = 0.0
    # traces (QUOTEFLOW_INFERENCE_TRACING__OTLP_ENDPOINT, __SAMPLE_RATIO): off by default
    tracing: TracingSettings = Field(default_factory=TracingSettings)
