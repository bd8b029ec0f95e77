"""What `quoteflow traffic show` and `history` print: the schedule of tariffs and the
policy's history, as lines (plain functions, unit-tested without a router)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from quoteflow.traffic.policy import Policy, Split
from quoteflow.traffic.tariffs import in_effect, iso


def split_text(s: Split) -> str:
    return (f"blue {s.version_of('blue')}, green {s.version_of('green') or '-'} at "
            f"{s.green_weight:g}%, shadow {'on' if s.shadow.enabled else 'off'}")


def schedule_lines(policy: Policy, now: dt.datetime | None = None) -> list[str]:
    """The tariffs by effective instant, and which one a cover starting now gets."""
    if not policy.tariffs:
        return ["tariffs: none scheduled (the above prices every cover start)"]
    now = now or dt.datetime.now(dt.UTC)
    current = in_effect(policy, now)
    lines = [f"tariffs: by cover start (a cover starting now gets: {current})"]
    for t in policy.tariffs:
        mark = "  <- in effect now" if iso(t.effective) == current else ""
        lines.append(f"  from {iso(t.effective)}: {split_text(t)}{mark}")
    return lines


def history_lines(entries: Iterable[dict[str, Any]], as_json: bool = False) -> list[str]:
    if as_json:
        return [json.dumps(e, sort_keys=True) for e in entries]
    out = []
    for e in entries:
        policy = e.get("policy") or {}
        try:
            now = Policy.model_validate(
                {k: v for k, v in policy.items() if k != "generation"})
            what = split_text(now) + (f", {len(now.tariffs)} scheduled" if now.tariffs else "")
        except ValueError:
            what = "(policy not readable)"
        out.append(f"{e.get('at', '?')}  gen {e.get('generation', '?')}  "
                   f"{e.get('change', '?'):<10} by {e.get('actor', '?')}: "
                   f"{e.get('reason') or '(no reason given)'} -> {what}")
    return out or ["no change recorded"]
