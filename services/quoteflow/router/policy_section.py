"""One model's section of the traffic policy: the validated ``Policy`` and its parser.

Shape (unknown keys refused)::

    blue:  {version: "1"}
    green: {version: "2"}
    green_weight: 10          # percent of live traffic to Green, 0..100
    shadow: {enabled: true, sample: 1.0}
    generation: 7             # optional; written by our tools

The whole document (one section per model) and the store are in ``policy.py``.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

import orjson
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

Color = Literal["blue", "green"]
COLORS: tuple[Color, ...] = ("blue", "green")


class PolicyError(ValueError):
    """A policy document was refused; the message names what is wrong."""


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


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    blue: ColorSpec
    green: ColorSpec | None = None
    green_weight: float = Field(default=0, ge=0, le=100)
    shadow: ShadowSpec = ShadowSpec()
    generation: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _green_needed(self) -> Policy:
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

    def killed(self) -> Policy:
        """The kill switch: Green gets nothing, shadow is off; models stay named."""
        return self.model_copy(update={"green_weight": 0, "shadow": ShadowSpec(enabled=False,
                                                                               sample=self.shadow.sample)})

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def revision(self) -> str:
        """Content hash of the document without its generation."""
        body = {k: v for k, v in self.document().items() if k != "generation"}
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def load_mapping(text: str | bytes | Any, source: str) -> dict[str, Any]:
    data: Any = text
    if isinstance(text, str | bytes):
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as e:  # RecursionError: absurd nesting
            raise PolicyError(f"{source}: not valid YAML/JSON: {type(e).__name__}: {e}") from e
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a mapping, got {type(data).__name__}")
    return data


def validate_policy(data: Any, source: str, where: str = "") -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: {where or 'a policy'} is a mapping, "
                          f"got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{where}{'.'.join(str(p) for p in err['loc']) or '(document)'}: {err['msg']}"
            for err in e.errors())
        raise PolicyError(f"{source}: invalid traffic policy: {problems}") from e


def parse_policy(text: str | bytes | Any, source: str) -> Policy:
    """Parse one model's section (YAML/JSON text or an already parsed mapping) into a
    Policy, or raise PolicyError naming the field."""
    return validate_policy(load_mapping(text, source), source)
