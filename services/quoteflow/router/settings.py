"""router settings, from QUOTEFLOW_ROUTER_* environment variables."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quoteflow import products
from quoteflow.ledger.settings import LedgerSettings
from quoteflow.tracing import TracingSettings


class Settings(BaseSettings):
    # nested: QUOTEFLOW_ROUTER_LEDGER__URL=postgresql://... sets ledger.url
    model_config = SettingsConfigDict(env_prefix="QUOTEFLOW_ROUTER_", env_nested_delimiter="__")

    # The product this router serves on its public path (products.REGISTERED).
    product: str = Field(default_factory=lambda: products.names()[0])
    # The model whose section of the traffic policy this router runs; default: the
    # product's name (the registry names a product's model after it).
    model_name: str | None = None
    preprocess_url: str
    blue_url: str
    green_url: str | None = None
    # Local mode: the policy file, hot-reloaded. In a cluster: the mounted ConfigMap
    # file is the fallback and the ConfigMap itself is watched through the API.
    policy_file: Path
    k8s_configmap: str | None = None
    k8s_namespace: str = "default"
    k8s_key: str = "policy.yaml"
    # No token: admin writes are disabled (GET still works).
    admin_token: SecretStr | None = None
    admin_token_file: Path | None = None

    # Timeouts sized to the 200 ms budget: preprocess + inference + one failover
    # attempt fit inside it with room for the router's own work.
    budget_seconds: float = 0.2
    preprocess_timeout: float = 0.08
    inference_timeout: float = 0.055
    shadow_timeout: float = 0.25
    shadow_queue: int = 1000
    shadow_concurrency: int = 8
    # Shadow calls a second, per router (0: no cap). A rollout's comparison needs a
    # sample, not every quote; the cap keeps shadow's CPU bounded at any traffic.
    shadow_max_per_second: float = 200.0
    health_interval: float = 0.25
    policy_poll_interval: float = 0.2
    max_body_bytes: int = 16 * 1024
    # Admission control (router/admission.py): a quote the router cannot answer inside
    # the budget is refused at once (503, Retry-After) instead of queued. 0: that
    # predictor off. In flight: as many as the most any client of this platform holds
    # open (the drills' and the bench's 64 connections), so only a flood is refused;
    # 96 let the tail at 1.5x the chain's maximum run to ~300 ms, 64 to ~200 ms, 48
    # refused the bench's closed-loop clients (2 cores, measured). Loop lag: late ticks
    # for a whole window, not one GC pause; off by default (0): on a shared 2-core
    # machine a neighbour's CPU burst tripped it at 300 quotes/s (12 and 2 quotes shed
    # in two of six drill runs), so it is for a router with cores of its own
    # (QUOTEFLOW_ROUTER_ADMISSION_MAX_LOOP_LAG=0.03).
    admission_max_in_flight: int = Field(default=64, ge=0)
    admission_max_loop_lag: float = Field(default=0.0, ge=0)
    admission_lag_window: float = Field(default=0.1, gt=0)
    admission_retry_after: int = Field(default=1, ge=1)  # seconds, in the Retry-After header
    pool_size: int = 256
    # Every priced answer is recorded before it leaves (products whose answers are
    # prices). Off only for a benchmark's baseline: then no quote can be retrieved,
    # honoured or bound.
    ledger_enabled: bool = True
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    # traces (QUOTEFLOW_ROUTER_TRACING__OTLP_ENDPOINT, __SAMPLE_RATIO): off by default
    tracing: TracingSettings = Field(default_factory=TracingSettings)
    # names this process in each record (a pod's name in a cluster)
    instance: str = Field(default_factory=socket.gethostname, min_length=1)

    @field_validator("product")
    @classmethod
    def _known(cls, v: str) -> str:
        products.get(v)  # UnknownProduct names the known ones
        return v

    @model_validator(mode="after")
    def _model_of_product(self) -> Settings:
        if self.model_name is None:
            self.model_name = self.product
        return self

    @model_validator(mode="after")
    def _token_from_file(self) -> Settings:
        if self.admin_token is None and self.admin_token_file is not None:
            token = self.admin_token_file.read_text().strip()
            if not token:
                raise ValueError(f"admin_token_file {self.admin_token_file} is empty")
            self.admin_token = SecretStr(token)
        if self.preprocess_timeout + 2 * self.inference_timeout > self.budget_seconds:
            raise ValueError("preprocess_timeout + 2 x inference_timeout must fit in "
                             f"budget_seconds ({self.budget_seconds}s): one failover attempt "
                             "has to fit inside the budget")
        return self
