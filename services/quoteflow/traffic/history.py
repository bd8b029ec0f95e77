"""Who moved what: every change of a model's traffic policy (set, shadow, kill, rollout
step, schedule, unschedule, abort), with its actor and reason, kept as history.

Where it is kept: beside the policy, written by the writer of the policy in the same
step, so that a change and its entry cannot part.
- Local mode: ``<policy file>.history.jsonl``, one JSON line per change, appended under
  the policy file's lock by ``document.write_policy_file``; it survives restarts with
  the file. The router's admin API reads it (``GET /admin/traffic/history``).
- A cluster: the policy ConfigMap's ``history.jsonl`` key, patched with the policy in
  one optimistic update (``control.targets.ClusterTarget``); the newest ``KEEP``
  entries are kept, since a ConfigMap holds at most 1 MiB. Routers never read it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)
CONFIGMAP_KEY = "history.jsonl"
KEEP = 200  # entries kept in the ConfigMap (a whole entry is ~1 KB)


class Change(BaseModel):
    """A change as its maker describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    change: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9 _-]*$")
    actor: str = Field(min_length=1, max_length=128)
    reason: str = Field(default="", max_length=1000)


def entry(change: Change, model: str, generation: int | None,
          policy: dict[str, Any], at: dt.datetime | None = None) -> dict[str, Any]:
    at = at or dt.datetime.now(dt.UTC)
    return {"at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "model": model, "generation": generation, **change.model_dump(),
            "policy": policy}


def history_path(policy_file: Path) -> Path:
    return policy_file.with_name(policy_file.name + ".history.jsonl")


def append(path: Path, item: dict[str, Any]) -> None:
    with path.open("a") as f:
        f.write(json.dumps(item, sort_keys=True) + "\n")


def parse(text: str, model: str | None = None) -> list[dict[str, Any]]:
    """Entries oldest first (of ``model`` when given); a damaged line is skipped, said once."""
    out, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            bad += 1
            continue
        if isinstance(item, dict) and (model is None or item.get("model") == model):
            out.append(item)
    if bad:
        log.warning("traffic history: lines that are not JSON were skipped",
                    extra={"lines": bad})
    return out


def read(path: Path, model: str | None = None) -> list[dict[str, Any]]:
    try:
        return parse(path.read_text(), model)
    except FileNotFoundError:
        return []


def appended(text: str | None, item: dict[str, Any], keep: int = KEEP) -> str:
    """The ConfigMap key's text with ``item`` added, the oldest dropped beyond ``keep``."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    lines.append(json.dumps(item, sort_keys=True))
    return "\n".join(lines[-keep:]) + "\n"
