"""A rollout's state, kept where the policy lives so it survives the command's restart.

Local: a JSON file beside the policy. Cluster: a key of the traffic ConfigMap.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

TERMINAL = {"completed", "rolled_back", "aborted"}


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class RolloutState:
    id: str
    model: str
    blue_version: str
    green_version: str
    steps: list[float]
    interval_seconds: float
    confirm_each_step: bool
    gates: dict[str, Any]
    # -1: the shadow phase before any live traffic; then an index into steps
    step_index: int = -1
    status: str = "running"  # running | awaiting_confirmation | abort_requested | TERMINAL
    reason: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)
    # the outcome gates' sources and rules given at start (OutcomeSources.saved), so that
    # resume and promote judge the same way; {} for a rollout saved before they were kept
    outcomes: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def current_weight(self) -> float:
        return 0.0 if self.step_index < 0 else self.steps[self.step_index]

    def record(self, **entry: Any) -> None:
        self.history.append({"time": now(), **entry})
        self.updated_at = now()

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> RolloutState:
        return cls(**json.loads(text))


class StateStore(Protocol):
    def load(self) -> RolloutState | None: ...

    def save(self, state: RolloutState) -> None: ...


class FileState:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> RolloutState | None:
        if not self.path.exists():
            return None
        return RolloutState.from_json(self.path.read_text())

    def save(self, state: RolloutState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".rollout-", dir=self.path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(state.to_json())
        os.replace(tmp, self.path)


class ConfigMapState:
    """The rollout state as key ``rollout.json`` of the traffic ConfigMap."""

    def __init__(self, core: Any, namespace: str, configmap: str,
                 key: str = "rollout.json") -> None:
        self.core, self.namespace, self.configmap, self.key = core, namespace, configmap, key

    def load(self) -> RolloutState | None:
        cm = self.core.read_namespaced_config_map(self.configmap, self.namespace)
        text = (cm.data or {}).get(self.key)
        return RolloutState.from_json(text) if text else None

    def save(self, state: RolloutState) -> None:
        self.core.patch_namespaced_config_map(self.configmap, self.namespace,
                                              {"data": {self.key: state.to_json()}})
