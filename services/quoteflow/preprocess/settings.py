"""preprocess settings, from QUOTEFLOW_PREPROCESS_* environment variables."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTEFLOW_PREPROCESS_")

    max_body_bytes: int = 16 * 1024
    # Drills only: added to every /v1/features call to play a slow dependency.
    artificial_delay_ms: float = 0.0
