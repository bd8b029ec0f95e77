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
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

# One section: re-exported, so `from quoteflow.router.policy import Policy` keeps working.
from quoteflow.router.policy_section import (
    COLORS,
    Color,
    ColorSpec,
    Policy,
    PolicyError,
    ShadowSpec,
    load_mapping,
    parse_policy,
    validate_policy,
)

__all__ = ["ALL_MODELS", "COLORS", "LEGACY_MODEL", "Color", "ColorSpec", "Policy",
           "PolicyDocument", "PolicyError", "PolicyState", "PolicyStore", "ShadowSpec",
           "check_model_name", "parse_document", "parse_policy", "parse_section",
           "raw_sections"]

# Documents from before per-model sections were motor pricing's (as model versions
# without a product in their metadata are: products.of_metadata).
LEGACY_MODEL = "motor"
ALL_MODELS = "all"  # the kill switch's "every model"; never a model name
_MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


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


def _sections(data: dict[str, Any], source: str) -> Mapping[str, Any]:
    """The raw sections of a document (the single-section shape: motor's)."""
    if "models" not in data:
        return {LEGACY_MODEL: data}
    extra = sorted(set(data) - {"models"})
    if extra:
        raise PolicyError(f"{source}: invalid traffic policy: {', '.join(extra)}: unknown "
                          "key beside `models` (each model's settings go in its section)")
    models = data["models"]
    if not isinstance(models, Mapping) or not models:
        raise PolicyError(f"{source}: invalid traffic policy: models: a mapping of model "
                          "name to section, with at least one model")
    for name in models:
        try:
            check_model_name(str(name))
        except PolicyError as e:
            raise PolicyError(f"{source}: invalid traffic policy: models: {e}") from e
    return models


def _validate_section(sections: Mapping[str, Any], name: str, source: str,
                      legacy: bool) -> Policy:
    return validate_policy(sections[name], source, "" if legacy else f"models.{name}.")


def parse_document(text: str | bytes | Any, source: str) -> PolicyDocument:
    """The whole document, every section validated (what the tools read and write); the
    single-section shape is read as the motor section."""
    data = load_mapping(text, source)
    sections = _sections(data, source)
    legacy = "models" not in data
    return PolicyDocument(sections={str(name): _validate_section(sections, name, source, legacy)
                                    for name in sections})


def parse_section(text: str | bytes | Any, source: str, model: str) -> Policy:
    """One model's section (what a router runs): the document's shape and that section
    are validated, not the other models' sections, which are their routers' to judge,
    so a bad edit of one model's section never stops another's reloads."""
    data = load_mapping(text, source)
    sections = _sections(data, source)
    if model not in sections:
        raise PolicyError(f"{source}: no section for model {model!r} "
                          f"(sections: {', '.join(sorted(map(str, sections))) or 'none'})")
    return _validate_section(sections, model, source, "models" not in data)


def raw_sections(text: str) -> dict[str, Any]:
    """Every section as written, valid or not, for a writer that replaces one section
    and must keep the others; nothing for text that is not a policy document at all."""
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    models = data.get("models") if "models" in data else {LEGACY_MODEL: data}
    return dict(models) if isinstance(models, dict) else {}


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
