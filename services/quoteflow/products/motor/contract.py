"""Motor pricing's wire schemas: the quote request, one priced row, the quote.

Types and shapes are checked here (pydantic); business rules (ages, rated ranges)
live in ``features.quote_errors`` so that batch scoring reports the same messages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from quoteflow.contract import ModelColor
from quoteflow.products.motor.features import Area, Brand

QUOTE_EXAMPLE: dict[str, Any] = {
    "driver_birth_date": "1985-04-12",
    "vehicle_first_registration_date": "2019-09-01",
    "vehicle_power": 6,
    "vehicle_brand": "B12",
    "area": "C",
    "bonus_malus": 50,
    "customer_key": "cust-0001",
    "quote_date": "2026-11-23",
}


class QuoteRequest(BaseModel):
    """What the website sends. Ages are derived at the quote date, never typed in."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [QUOTE_EXAMPLE]})

    driver_birth_date: dt.date
    vehicle_first_registration_date: dt.date
    vehicle_power: int = Field(strict=True, description="fiscal horsepower")
    vehicle_brand: Brand
    area: Area = Field(description="A (rural) .. E (dense urban)")
    bonus_malus: int = Field(strict=True, description="French bonus-malus coefficient x100")
    customer_key: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$",
        description="stable key of the customer: keeps them on one model during a rollout",
    )
    quote_date: dt.date | None = Field(default=None, description="defaults to today (UTC)")
    cover_start: dt.date | None = Field(
        default=None, description="the cover's first day, from the quote date up to "
                                  "90 days after today; defaults to the quote date. The "
                                  "quote is priced by the tariff in effect on that day")
    renews: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{32}$",
        description="the quote_id of this customer's bound quote this one renews: the "
                    "renewal is held within the tariff's renewal cap of that premium and "
                    "never above the same risk's new-business price")

    @field_validator("driver_birth_date", "vehicle_first_registration_date", "quote_date",
                     "cover_start", mode="before")
    @classmethod
    def _date_is_text(cls, v: Any) -> Any:
        # lax pydantic reads a number as a Unix timestamp: 0 would be 1970-01-01
        if isinstance(v, int | float):
            raise PydanticCustomError("date_type", "Input should be a date as text, YYYY-MM-DD")
        return v

    @field_validator("vehicle_power", "bonus_malus", mode="before")
    @classmethod
    def _int_fits_a_float(cls, v: Any) -> Any:
        # the rated ranges are checked in float64 (quote_errors): 10**30 gets the range
        # message there, a 4,000-digit integer cannot even be converted: refused here
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**308:
            raise PydanticCustomError("int_too_large", "Input is far outside any rated range")
        return v


class RuleFired(BaseModel):
    rule: Literal["floor", "ceiling", "renewal_cap", "enbp"]
    by: float = Field(description="what the rule added to the price (negative: took off)")


class GuardrailsApplied(BaseModel):
    uncapped_premium: float = Field(description="the model's price before any guardrail")
    rules: list[RuleFired] = Field(description="each rule that moved the price, in order")
    prior_premium: float | None = Field(
        default=None, description="renewals: the bound premium renewed")
    new_business_premium: float | None = Field(
        default=None, description="renewals: the same risk's new-business price that day")


class PriceBreakdown(BaseModel):
    expected_frequency: float = Field(
        description="claims per policy-year: base_frequency x every rating factor's effect")
    base_frequency: float = Field(
        description="the reference risk's frequency (metadata.json explanation.reference)")
    rating_factors: dict[str, float] = Field(
        description="each rating factor's multiplicative effect on this quote's frequency, "
                    "relative to the reference risk: why this price")
    attritional_severity: float = Field(
        description="per claim: the expected size of claims up to the large-loss threshold")
    large_loss_severity: float = Field(
        description="per claim: the large-loss loading, claims above the threshold (GPD tail)")
    expected_severity: float = Field(description="mean claim amount: the two parts above")
    pure_premium: float = Field(description="expected_frequency x expected_severity")
    expense_loading: float = Field(description="fraction added for expenses")
    profit_loading: float = Field(description="fraction added for profit")
    minimum_premium: float
    minimum_applied: bool
    guardrails: GuardrailsApplied


class Prediction(BaseModel):
    """One priced row, as inference answers it and the router passes it on."""

    premium: float
    currency: str
    breakdown: PriceBreakdown


class QuoteModel(ModelColor):
    """Which model priced the quote (its own name keeps the OpenAPI document stable)."""


class QuoteResponse(BaseModel):
    quote_id: str = Field(description="GET /v1/quotes/{quote_id} reads the recorded quote")
    premium: float = Field(description="in the currency's unit (EUR: to the cent)")
    currency: str
    breakdown: PriceBreakdown
    quoted_at: dt.datetime | None = Field(
        default=None, description="when the quote was recorded (absent only when the router "
                                  "runs without a ledger, as a benchmark baseline)")
    valid_until: dt.datetime | None = Field(
        default=None, description="a re-quote of the same request by the same customer_key "
                                  "until then answers this quote again; binding needs it")
    model: QuoteModel
