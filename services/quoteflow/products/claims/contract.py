"""Claim triage's wire schemas: the agent's claim, one triaged row, the public answer.

Types and shapes are checked here (pydantic, one error per field); business rules
(dates in order, amounts against the sum insured) live in ``features.errors`` so
that batch scoring reports the same messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

CLAIM_REFERENCE_PATTERN = r"^CLM-[0-9]{4}-[0-9]{6,10}$"

CLAIM_EXAMPLE: dict[str, Any] = {
    "claim_reference": "CLM-2026-000123",
    "claimant_age": 34,
    "line": "motor",
    "policy_start_date": "2026-10-20",
    "incident_date": "2026-11-02",
    "report_date": "2026-11-20",
    "claimed_amount": 14500,
    "sum_insured": 15000,
    "prior_claims_3y": 2,
    "police_or_medical_report": False,
    "witnesses": 0,
    "documents_attached": 3,
    "incident_description": "The other car came out of nowhere. Nobody else saw it.",
}

Decision = Literal["valid", "fraud", "review"]


class ClaimRequest(BaseModel):
    """What the claims desk sends at first notice of loss."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CLAIM_EXAMPLE]})

    claim_reference: str = Field(
        pattern=CLAIM_REFERENCE_PATTERN,
        description="the claim's reference, CLM-<year>-<serial>: keeps a claim on one model "
                    "during a rollout")
    claimant_age: int = Field(strict=True, description="age in years at the incident")
    line: Literal["motor", "home", "health"] = Field(description="line of business")
    policy_start_date: dt.date = Field(description="start of cover, YYYY-MM-DD")
    incident_date: dt.date = Field(description="YYYY-MM-DD")
    report_date: dt.date | None = Field(
        default=None, description="when the claim was reported; defaults to today (UTC)")
    claimed_amount: float = Field(strict=True, allow_inf_nan=False, description="EUR")
    sum_insured: float = Field(strict=True, allow_inf_nan=False, description="EUR")
    prior_claims_3y: int = Field(strict=True, description="claims in the last 3 years")
    police_or_medical_report: bool = Field(
        strict=True, description="a police (motor, home) or medical (health) report is attached")
    witnesses: int = Field(strict=True)
    documents_attached: int = Field(strict=True)
    incident_description: str = Field(min_length=1, max_length=2000,
                                      description="the claimant's account, free text")

    @field_validator("policy_start_date", "incident_date", "report_date", mode="before")
    @classmethod
    def _date_is_text(cls, v: Any) -> Any:
        # lax pydantic reads a number as a Unix timestamp: 0 would be 1970-01-01
        if isinstance(v, int | float):
            raise PydanticCustomError("date_type", "Input should be a date as text, YYYY-MM-DD")
        return v

    @field_validator("claimant_age", "prior_claims_3y", "witnesses", "documents_attached",
                     mode="before")
    @classmethod
    def _count_fits_int64(cls, v: Any) -> Any:
        # counts become int64 columns (the ranges are checked there, features.errors)
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2**53:
            raise PydanticCustomError("int_too_large", "Input is far outside any valid range")
        return v

    @field_validator("claimed_amount", "sum_insured", mode="before")
    @classmethod
    def _amount_fits_a_float(cls, v: Any) -> Any:
        # amounts are checked in float64 (features.errors): a 4,000-digit integer cannot be
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**308:
            raise PydanticCustomError("int_too_large", "Input is far outside any valid range")
        return v


class Probabilities(BaseModel):
    valid: float
    fraud: float
    review: float


class TriagePrediction(BaseModel):
    """inference -> router: one triaged row."""

    decision: Decision
    probabilities: Probabilities
    reasons: list[str] = Field(description="the facts that moved the decision most, in words")


class TriageModel(BaseModel):
    name: str
    version: str
    color: Literal["blue", "green"]


class TriageResponse(BaseModel):
    """The public answer of POST /v1/claims/triage."""

    claim_reference: str
    decision: Decision = Field(description="valid: pay; fraud: manual fraud review; "
                                           "review: ask for the missing documents")
    probabilities: Probabilities
    reasons: list[str]
    model: TriageModel
