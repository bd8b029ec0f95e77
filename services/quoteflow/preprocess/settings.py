"""preprocess settings, from QUOTEFLOW_PREPROCESS_* environment variables."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quoteflow import products
from quoteflow.tracing import TracingSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTEFLOW_PREPROCESS_",
                                      env_nested_delimiter="__")

    # The products whose requests this process derives (JSON list); the first also
    # answers the unversioned /v1/features path.
    products: list[str] = Field(default_factory=products.names, min_length=1)
    max_body_bytes: int = 16 * 1024
    # Drills only: added to every /v1/features call to play a slow dependency.
    artificial_delay_ms: float = 0.0
    # traces (QUOTEFLOW_PREPROCESS_TRACING__OTLP_ENDPOINT, __SAMPLE_RATIO): off by default
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @field_validator("products")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        for name in v:
            products.get(name)  # UnknownProduct names the known ones
        return v
