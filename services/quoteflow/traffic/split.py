"""Blue/Green within one tariff (``Split``), and a scheduled tariff (``Tariff``): the
parts of a model's traffic policy section (``policy.Policy`` is the tariff in effect
now plus the schedule).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

Color = Literal["blue", "green"]
COLORS: tuple[Color, ...] = ("blue", "green")


# strict models: `generation: false` or `enabled: "no"` is a mistake to refuse, not coerce
class ColorSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # documented as what it accepts: YAML reads `version: 3` as an int
    version: Annotated[str, WithJsonSchema({"anyOf": [
        {"type": "string", "minLength": 1, "maxLength": 32},
        {"type": "integer", "minimum": 0}]})] = Field(min_length=1, max_length=32)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v: Any) -> Any:
        # a version is a label, not a number: 3 is the label "3"
        return str(v) if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else v


class ShadowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool = False
    sample: float = Field(default=1.0, ge=0.0, le=1.0)


class Split(BaseModel):
    """Blue/Green within one tariff: the versions, Green's share, shadow."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    blue: ColorSpec
    green: ColorSpec | None = None
    green_weight: float = Field(default=0, ge=0, le=100)
    shadow: ShadowSpec = ShadowSpec()

    @model_validator(mode="after")
    def _green_needed(self) -> Split:
        if self.green is None and self.green_weight > 0:
            raise ValueError("green_weight > 0 needs a green model (green: {version: ...})")
        if self.green is None and self.shadow.enabled:
            raise ValueError("shadow needs a green model (green: {version: ...})")
        return self

    @property
    def green_buckets(self) -> int:
        """Buckets 0..9999 below this number go Green (0.01% resolution)."""
        return round(self.green_weight * 100)

    def version_of(self, color: Color) -> str | None:
        spec = self.blue if color == "blue" else self.green
        return spec.version if spec else None


class Tariff(Split):
    """A scheduled tariff: prices every cover starting at or after ``effective``."""

    effective: dt.datetime

    @field_validator("effective", mode="before")
    @classmethod
    def _instant(cls, v: Any) -> Any:
        return effective_instant(v)


def effective_instant(v: Any) -> dt.datetime:
    """An effective instant, UTC: a date is its midnight UTC; a time needs its zone."""
    if isinstance(v, str):
        try:
            v = dt.datetime.fromisoformat(v) if "T" in v or " " in v else dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant "
                             "with its zone (2027-01-01T00:00:00+01:00)") from None
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            raise ValueError(f"{v.isoformat()} has no time zone: add Z or an offset "
                             "(a tariff starts at one instant everywhere)")
        return v.astimezone(dt.UTC)
    if isinstance(v, dt.date):
        return dt.datetime.combine(v, dt.time(0), dt.UTC)
    raise ValueError(f"an effective instant is a date or an ISO 8601 instant, got "
                     f"{type(v).__name__}")
