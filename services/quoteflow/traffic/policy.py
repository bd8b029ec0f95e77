"""One model's traffic policy: its validated section, the changes made to it, the sticky
blue/green assignment it decides, and the store that holds the running one.

Shape of a section (unknown keys refused)::

    blue:  {version: "1"}
    green: {version: "2"}
    green_weight: 10          # percent of live traffic to Green, 0..100
    shadow: {enabled: true, sample: 1.0}
    generation: 7             # optional; written by our tools
    tariffs:                  # optional: scheduled tariffs, by effective instant
      - {effective: "2027-01-01T00:00:00Z", blue: {version: "3"}}

A quote is priced by the tariff in effect at its cover start (``tariffs.py``): the
last scheduled one whose instant is at or before it, else the top level. Each tariff
is a whole blue/green split (``split.py``), so rollouts and shadow work within it.

The whole document (one section per model) and the policy file are in ``document.py``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Callable
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# re-exported: the policy's parts, where its users have always found them
from quoteflow.traffic.split import COLORS as COLORS
from quoteflow.traffic.split import Color as Color
from quoteflow.traffic.split import ColorSpec as ColorSpec
from quoteflow.traffic.split import ShadowSpec as ShadowSpec
from quoteflow.traffic.split import Split as Split
from quoteflow.traffic.split import Tariff as Tariff
from quoteflow.traffic.split import effective_instant as effective_instant

# Documents from before per-model sections were motor pricing's (as model versions
# without a product in their metadata are: products.of_metadata).
LEGACY_MODEL = "motor"
N_BUCKETS = 10_000


class PolicyError(ValueError):
    """A policy document was refused; the message names what is wrong."""


class Policy(Split):
    """One model's section: the tariff in effect now (this document's top level) and the
    scheduled ones (``tariffs``, by effective instant, each a whole Split)."""

    tariffs: list[Tariff] = Field(default_factory=list)
    generation: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _schedule_ordered(self) -> Policy:
        times = [t.effective for t in self.tariffs]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("tariffs: effective instants must strictly increase, one "
                             "tariff per instant")
        return self

    @property
    def splits(self) -> tuple[Split, ...]:
        """Every tariff's split: the current one first."""
        return (self, *self.tariffs)

    # --- the changes: each a new validated policy with no generation (its writer
    # gives it the next one), refused with PolicyError naming ``source`` ---------------

    def with_traffic(self, *, green_weight: float | None = None, shadow: bool | None = None,
                     sample: float | None = None, source: str = "traffic change") -> Policy:
        """Green's share and/or shadow (on/off, its sample) changed; the rest kept."""
        doc = self.document()
        doc.pop("generation", None)
        if green_weight is not None:
            doc["green_weight"] = green_weight
        if shadow is not None or sample is not None:
            doc["shadow"] = {"enabled": self.shadow.enabled if shadow is None else shadow,
                             "sample": self.shadow.sample if sample is None else sample}
        return parse_policy(doc, source)

    def killed(self) -> Policy:
        """The kill switch: Green gets nothing and shadow is off, in every tariff, the
        scheduled ones too; models stay named."""
        doc = self.with_traffic(green_weight=0, shadow=False, source="kill switch").document()
        for t in doc.get("tariffs", []):
            t["green_weight"] = 0
            t["shadow"] = {**t.get("shadow", {}), "enabled": False}
        return parse_policy(doc, "kill switch")

    def scheduled(self, tariff: Tariff, source: str = "traffic schedule") -> Policy:
        """``tariff`` added to the schedule (replacing one at the same instant)."""
        doc = self.document()
        doc.pop("generation", None)
        kept = [t for t in self.tariffs if t.effective != tariff.effective]
        doc["tariffs"] = [t.model_dump(mode="json", exclude_none=True)
                          for t in sorted([*kept, tariff], key=lambda t: t.effective)]
        return parse_policy(doc, source)

    def unscheduled(self, effective: dt.datetime, source: str = "traffic unschedule") -> Policy:
        """The tariff scheduled at ``effective`` taken off the schedule."""
        if all(t.effective != effective for t in self.tariffs):
            known = ", ".join(t.effective.isoformat() for t in self.tariffs) or "none"
            raise PolicyError(f"{source}: no tariff is scheduled at {effective.isoformat()} "
                              f"(scheduled: {known})")
        doc = self.document()
        doc.pop("generation", None)
        doc["tariffs"] = [t.model_dump(mode="json", exclude_none=True)
                          for t in self.tariffs if t.effective != effective]
        return parse_policy(doc, source)

    def document(self) -> dict[str, Any]:
        doc = self.model_dump(mode="json", exclude_none=True)
        if not doc["tariffs"]:
            del doc["tariffs"]  # a policy without a schedule reads (and hashes) as before
        return doc

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


# --- sticky, monotone assignment ------------------------------------------------------
# A key (customer key, or the quote id when there is none) hashes to a bucket 0..9999;
# buckets below the Green share go Green. Raising the share only moves Blue buckets to
# Green, so a returning customer sees one model's price throughout a rollout.

def bucket_of(key: str) -> int:
    # blake2b is stable across processes and Python versions (unlike hash()).
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % N_BUCKETS


def assign(key: str, policy: Split) -> Color:
    return "green" if bucket_of(key) < policy.green_buckets else "blue"


# --- the running policy ---------------------------------------------------------------

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
    take ``store.state`` (an immutable snapshot). Only a source applies to it (the
    file or the ConfigMap, through ``document.apply_text``): see the package docstring."""

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
        """Swap in ``policy``; a writer's generation is kept when it moves forward, a
        section without one (a hand edit) gets the running generation plus one."""
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
