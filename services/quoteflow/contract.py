"""Wire schemas of the platform, shared by every product: errors, predict batches, models.

A product's own schemas (its request, its prediction row, its public answer) live in
its package (``products/<name>/contract.py``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ValidationErrorBody(BaseModel):
    detail: list[FieldError]


class PredictRequest(BaseModel):
    """router -> inference: a batch of feature vectors of one schema version."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"schema_version": "1", "features": [[0.0, 1.0]]}]},
    )

    schema_version: str
    features: list[list[float]] = Field(min_length=1, max_length=10_000)


class ModelRef(BaseModel):
    name: str
    version: str
    sha256: str


class PredictResponse(BaseModel):
    """inference -> router; ``predictions`` rows are the product's prediction model."""

    model_config = ConfigDict(extra="allow")  # product-level fields (motor: currency)

    model: ModelRef
    predictions: list[dict[str, Any]]


class ModelColor(BaseModel):
    """Which model answered, and on which color."""

    name: str
    version: str
    color: Literal["blue", "green"]
