"""One ledger row: a priced quote as it was answered, and the helpers that key it.

The record is product-agnostic: the request is kept as canonical JSON (whatever the
product's contract is), the features as the vector the model saw, the price as an
exact Decimal already rounded to the currency's unit by the caller (the artifact's
pricing config owns the rounding, so batch and live agree).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    field_validator,
    model_validator,
)

Status = Literal["quoted", "bound", "expired"]
SHA256 = r"^[0-9a-f]{64}$"


def canonical_json(obj: Any) -> str:
    """Sorted keys, no spaces, UTF-8: the same request always gives the same text."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def request_key(product: str, resolved_request: Mapping[str, Any]) -> str:
    """The re-quote key: sha256 of the product name and the canonical request with its
    quote date resolved (a request without a date means "today", so two such requests
    on different days are different quotes)."""
    return sha256_hex(product + "\n" + canonical_json(resolved_request))


def time_ordered_id() -> str:
    """A new quote id: a UUIDv7 (RFC 9562) as 32 lowercase hex digits, the shape uuid4's
    hex has. Its first 48 bits are the Unix time in ms, so new rows land at the end of
    the ledger's primary-key index rather than on a random page of it (issue 29: 6-17 us
    of the writer's work a row on a 200,000-row ledger); its 74 random bits keep it
    unguessable."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant 10
    return f"{value:032x}"


def json_default(v: Any) -> str:
    """orjson's fallback for a breakdown holding exact Decimals: kept as text."""
    if isinstance(v, Decimal):
        return str(v)
    raise TypeError(f"{type(v).__name__} is not JSON serializable")


# what orjson would write as something else than it reads back: refused by the check
_ONLY_JSON = (orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
              | orjson.OPT_PASSTHROUGH_SUBCLASS)


def json_native(breakdown: dict[str, Any]) -> dict[str, Any]:
    """As it will read back from the store: exact Decimals become their text. A breakdown
    parsed from inference's JSON already is (checked by encoding it: a third of the round
    trip); one the renewal rules gave Decimals is converted."""
    try:
        orjson.dumps(breakdown, option=_ONLY_JSON)
        return breakdown
    except TypeError:
        pass
    try:
        native: dict[str, Any] = orjson.loads(orjson.dumps(breakdown, default=json_default))
    except TypeError as e:
        raise ValueError(f"breakdown is not JSON: {e}") from None
    return native


def utc(t: dt.datetime) -> dt.datetime:
    if t.tzinfo is None:
        raise ValueError(f"naive datetime {t.isoformat()}: the ledger needs a time zone")
    return t.astimezone(dt.UTC)


class Renewal(BaseModel):
    """The bound quote a renewal renews, and its premium: what the guardrails held to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quote_id: str = Field(min_length=1, max_length=128)
    prior_premium: Decimal


class Reason(BaseModel):
    """Why the quote was priced on its color, under its tariff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bucket: int | None = Field(default=None, ge=0, le=9999)
    policy_generation: int | None = Field(default=None, ge=0)
    failover_from: str | None = None
    requote: bool = False
    # which tariff priced it and why (traffic.tariffs.TariffChoice.reason): the tariff
    # (its Blue version), its effective instant or "current", the cover start, the rule
    tariff: dict[str, str] | None = None
    renewal: Renewal | None = None  # a renewal of a bound quote (price guardrails)


class QuoteRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quote_id: str = Field(min_length=1, max_length=128)
    product: str = Field(min_length=1, max_length=64)
    quoted_at: AwareDatetime
    valid_until: AwareDatetime
    request_json: str = Field(description="the request as received, canonical JSON")
    request_sha256: str = Field(pattern=SHA256)
    customer_key: str | None = Field(default=None, max_length=256)
    request_key: str = Field(pattern=SHA256)
    features: list[FiniteFloat]  # checked in pydantic-core: on every quote's path
    features_schema: str = Field(min_length=1)
    model_name: str = Field(min_length=1)
    model_version: str = Field(min_length=1)
    model_sha256: str = Field(pattern=SHA256)
    color: str = Field(min_length=1, max_length=32)
    reason: Reason = Field(default_factory=Reason)
    premium: Decimal  # pydantic refuses NaN and infinities
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    breakdown: dict[str, Any] = Field(default_factory=dict)
    router_instance: str = Field(min_length=1)
    bound_at: AwareDatetime | None = None
    # the W3C trace id of the call that priced it (the quote's request id: the response
    # header, every log line, the trace); None in records from before tracing
    trace_id: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")

    @field_validator("quoted_at", "valid_until", "bound_at")
    @classmethod
    def _to_utc(cls, v: dt.datetime | None) -> dt.datetime | None:
        return None if v is None else utc(v)

    @field_validator("breakdown")
    @classmethod
    def _json_native(cls, v: dict[str, Any]) -> dict[str, Any]:
        return json_native(v)

    @model_validator(mode="after")
    def _consistent(self) -> QuoteRecord:
        if self.valid_until < self.quoted_at:
            raise ValueError(f"valid_until {self.valid_until.isoformat()} is before quoted_at "
                             f"{self.quoted_at.isoformat()}")
        try:
            canonical = canonical_json(orjson.loads(self.request_json))
        except orjson.JSONDecodeError as e:
            raise ValueError(f"request_json is not JSON: {e}") from None
        if canonical != self.request_json:
            raise ValueError("request_json is not canonical (sorted keys, no spaces): "
                             "build it with canonical_json()")
        if sha256_hex(self.request_json) != self.request_sha256:
            raise ValueError("request_sha256 is not the sha256 of request_json")
        return self

    def status(self, now: dt.datetime) -> Status:
        """bound once bound (whatever the date); expired after valid_until; else quoted."""
        if self.bound_at is not None:
            return "bound"
        return "expired" if utc(now) > self.valid_until else "quoted"

    def request(self) -> dict[str, Any]:
        body: dict[str, Any] = orjson.loads(self.request_json)  # a request is a JSON object
        return body
