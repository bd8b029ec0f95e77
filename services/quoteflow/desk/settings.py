"""The desk's settings, from QUOTEFLOW_DESK_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from quoteflow.ledger.settings import kind_of

MIB = 1024 * 1024


class DeskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="QUOTEFLOW_DESK_")

    router_url: str = Field(description="the router whose /v1/claims/triage the desk calls")
    database_url: str = Field(default="sqlite:///var/run/desk.sqlite3", description=(
        "sqlite:///path or postgresql://user@host/db (the quote ledger's URL forms); "
        "several desk replicas need PostgreSQL"))
    documents_dir: Path = Field(default=Path("var/run/desk-documents"),
                                description="content-addressed document folder (a volume)")
    triage_timeout: float = Field(default=2.0, gt=0, description=(
        "seconds a filing waits for triage before the claim is kept as pending"))
    retry_interval: float = Field(default=5.0, gt=0,
                                  description="seconds between retries of pending claims")
    max_files: int = Field(default=10, ge=1, le=100, description="documents per upload")
    max_file_bytes: int = Field(default=10 * MIB, ge=1, description="bytes per document")
    # a request above this is refused before its body is read (413)
    max_request_bytes: int = Field(default=64 * MIB, ge=1)
    session_hours: float = Field(default=8.0, gt=0)
    # None: Secure cookies when the request came over TLS (or a proxy said https)
    secure_cookies: bool | None = None
    # Cluster: trust a user name (and role) set by an OIDC proxy in front of the desk.
    # Only when configured: anyone who can reach the desk directly could set it.
    identity_header: str | None = None
    identity_role_header: str | None = None
    pool_size: int = Field(default=4, ge=1, description="PostgreSQL pooled connections")

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        kind_of(v)
        return v
