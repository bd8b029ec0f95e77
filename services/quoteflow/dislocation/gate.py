"""Before a rollout: has the candidate's dislocation been reviewed, and signed off?

A product that configures dislocation limits (``Product.dislocation_limits``) needs, for
Blue -> Green, a recorded review of those two versions (``quoteflow dislocation``): within
the limits it passes; beyond them (or with none recorded) the rollout starts only with an
explicit acceptance of a recorded review (``--accept-dislocation SUMMARY --reason
--actor``), which goes in the registry's audit trail.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from quoteflow import products
from quoteflow.dislocation.job import recorded
from quoteflow.registry import Registry


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    message: str
    review: dict[str, object] | None = None


def _how(model: str, blue: str, green: str) -> str:
    return (f"run `quoteflow dislocation --from {model}:{blue} --to {model}:{green} --book "
            "BOOK`, then sign it off with `quoteflow rollout start ... --accept-dislocation "
            "SUMMARY.json --reason ... --actor ...` if it is beyond the limits")


def _texts(values: object) -> list[str]:
    """A recorded list's items as text (a review's entries are JSON: anything)."""
    return [str(v) for v in values] if isinstance(values, list) else [str(values)]


def check(registry: Registry, model: str, blue: str, green: str,
          accept: Path | None = None, reason: str | None = None,
          actor: str | None = None) -> Verdict:
    """May Green start rolling out against Blue, as far as dislocation goes?"""
    metadata = registry.get(model, green).metadata
    limits = products.of_metadata(metadata).dislocation_limits(metadata)
    if not limits and accept is None:
        return Verdict(True, f"{model} configures no dislocation limits")
    reviews = [r for r in recorded(registry, model)
               if (r["from"], r["to"]) == (blue, green)]
    last = reviews[-1] if reviews else None
    if accept is None:
        if last is None:
            return Verdict(False, f"no dislocation review of {model} {blue} -> {green}: "
                           + _how(model, blue, green))
        if last["within_limits"]:
            return Verdict(True, f"dislocation review of {blue} -> {green} within the limits "
                           f"({last['folder']})", last)
        return Verdict(False, f"the dislocation review of {model} {blue} -> {green} is beyond "
                       f"the limits ({'; '.join(_texts(last['breaches']))}): accept it "
                       f"with --accept-dislocation {last['folder']}/summary.json --reason ... "
                       "--actor ...", last)
    if not (reason and reason.strip() and actor and actor.strip()):
        return Verdict(False, "--accept-dislocation needs --reason and --actor")
    if not accept.is_file():
        return Verdict(False, f"{accept}: no such review summary")
    digest = hashlib.sha256(accept.read_bytes()).hexdigest()
    match = next((r for r in reversed(reviews) if r["summary_sha256"] == digest), None)
    if match is None:
        return Verdict(False, f"{accept} is not a recorded review of {model} {blue} -> "
                       f"{green} (or it was changed since): " + _how(model, blue, green))
    registry.record(model, green, "dislocation_accepted", actor, reason,
                    {"from": blue, "summary": str(accept), "summary_sha256": digest,
                     "breaches": match["breaches"]})
    return Verdict(True, f"dislocation review {accept} accepted by {actor}: {reason}", match)
