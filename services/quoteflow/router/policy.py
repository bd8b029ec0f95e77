"""The traffic policy: one validated document with a section per model name.

Shape (unknown keys refused)::

    models:
      motor:
        blue:  {version: "1"}
        green: {version: "2"}
        green_weight: 10          # percent of live traffic to Green, 0..100
        shadow: {enabled: true, sample: 1.0}
        generation: 7             # optional; written by our tools
      claims:
        blue: {version: "1"}

Each product rolls out on its own: a router serves one model and runs only that
model's section (a ``Policy``), swapped atomically with its own generation. A
document in the older single-section shape (``blue: ...`` at the top) is read as
the ``motor`` section, so existing files and ConfigMaps keep working.

``generation`` lets a tool confirm that every router replica of a model runs the
same section: writers (the admin API, the CLI) set it to the previous one plus one;
a section without one (a hand edit) gets the running generation plus one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable, Mapping
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


# Documents from before per-model sections were motor pricing's (as model versions
# without a product in their metadata are: products.of_metadata).
LEGACY_MODEL = "motor"
ALL_MODELS = "all"  # the kill switch's "every model"; never a model name
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def _load(text: str | bytes | Any, source: str) -> dict[str, Any]:
    data: Any = text
    if isinstance(text, str | bytes):
        try:
            data = yaml.safe_load(text)
        except (yaml.YAMLError, RecursionError) as e:  # RecursionError: absurd nesting
            raise PolicyError(f"{source}: not valid YAML/JSON: {type(e).__name__}: {e}") from e
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a mapping, got {type(data).__name__}")
    return data


def _validate(data: Any, source: str, where: str = "") -> Policy:
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
    return _validate(_load(text, source), source)


class PolicyDocument(BaseModel):
    """The whole document: model name -> that model's section."""

    model_config = ConfigDict(frozen=True)

    sections: dict[str, Policy]

    @property
    def models(self) -> list[str]:
        return sorted(self.sections)

    def section(self, model: str, source: str = "traffic policy") -> Policy:
        if model not in self.sections:
            raise PolicyError(f"{source}: no section for model {model!r} "
                              f"(sections: {', '.join(self.models) or 'none'})")
        return self.sections[model]

    def with_section(self, model: str, policy: Policy) -> PolicyDocument:
        check_model_name(model)
        return PolicyDocument(sections={**self.sections, model: policy})

    def document(self) -> dict[str, Any]:
        return {"models": {m: self.sections[m].document() for m in self.models}}


def check_model_name(model: str) -> str:
    if model == ALL_MODELS or not _MODEL_NAME.match(model):
        raise PolicyError(f"{model!r} is not a model name (lower-case letters, digits, "
                          f"'_', '-', '.'; {ALL_MODELS!r} is reserved)")
    return model


def parse_document(text: str | bytes | Any, source: str) -> PolicyDocument:
    """The whole document, every section validated; the single-section shape is read
    as the motor section."""
    data = _load(text, source)
    if "models" not in data:
        return PolicyDocument(sections={LEGACY_MODEL: _validate(data, source)})
    extra = sorted(set(data) - {"models"})
    if extra:
        raise PolicyError(f"{source}: invalid traffic policy: {', '.join(extra)}: unknown "
                          "key beside `models` (each model's settings go in its section)")
    models = data["models"]
    if not isinstance(models, Mapping) or not models:
        raise PolicyError(f"{source}: invalid traffic policy: models: a mapping of model "
                          "name to section, with at least one model")
    sections: dict[str, Policy] = {}
    for name, section in models.items():
        try:
            check_model_name(str(name))
        except PolicyError as e:
            raise PolicyError(f"{source}: invalid traffic policy: models: {e}") from e
        sections[str(name)] = _validate(section, source, f"models.{name}.")
    return PolicyDocument(sections=sections)


def parse_section(text: str | bytes | Any, source: str, model: str) -> Policy:
    """One model's section of a whole document (what a router runs)."""
    return parse_document(text, source).section(model, source)


class PolicyState(BaseModel):
    """What a router runs: the policy plus where and when it came from."""

    model_config = ConfigDict(frozen=True)

    model: str
    policy: Policy
    generation: int
    source: str
    loaded_at: str

    def view(self) -> dict[str, Any]:
        doc = self.policy.document()
        doc["generation"] = self.generation
        return {"model": self.model, "policy": doc, "generation": self.generation,
                "revision": self.policy.revision(), "source": self.source,
                "loaded_at": self.loaded_at}


class PolicyStore:
    """Holds the running policy of one model (its section of the document); readers
    take ``store.state`` (an immutable snapshot)."""

    def __init__(self, initial: Policy, source: str, model: str = LEGACY_MODEL) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[PolicyState], None]] = []
        self.model = model
        self.state = self._state(initial, initial.generation or 1, source)

    def _state(self, policy: Policy, generation: int, source: str) -> PolicyState:
        return PolicyState(model=self.model,
                           policy=policy.model_copy(update={"generation": generation}),
                           generation=generation, source=source,
                           loaded_at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"))

    @property
    def policy(self) -> Policy:
        return self.state.policy

    @property
    def generation(self) -> int:
        return self.state.generation

    def subscribe(self, listener: Callable[[PolicyState], None]) -> None:
        self._listeners.append(listener)
        listener(self.state)

    def apply(self, policy: Policy, source: str) -> PolicyState:
        with self._lock:
            current = self.state
            # The same content seen again (a file touch, a watch replay, the kubelet
            # refreshing the mounted copy of a ConfigMap the watch already applied) is
            # not a change, whether or not the document carries a generation.
            if policy.revision() == current.policy.revision() and (
                    policy.generation is None or policy.generation <= current.generation):
                return current
            if policy.generation is not None and policy.generation > current.generation:
                generation = policy.generation
            else:
                generation = current.generation + 1
            self.state = self._state(policy, generation, source)
            state = self.state
        for listener in self._listeners:
            listener(state)
        return state

    def apply_text(self, text: str | bytes, source: str) -> Policy:
        """Validate the whole document, then swap in this model's section; on error the
        running policy stays and PolicyError is raised."""
        return self.apply(parse_section(text, source, self.model), source).policy
