"""Progressive rollout: shadow first, then live steps, each judged on Prometheus evidence.

A failing gate rolls back at once (Green to 0, shadow off) and archives the
candidate with the evidence; too little traffic holds the step and says so;
completion promotes Green to Production in the registry (the old Production
version is archived by that move) with the rollout's evidence.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from quoteflow import products
from quoteflow.control.analysis import Evidence, Gates, Query, live_evidence, shadow_evidence
from quoteflow.control.outcome_gates import OutcomeSources
from quoteflow.control.rollout_state import RolloutState, StateStore
from quoteflow.control.targets import PolicyTarget, apply_change
from quoteflow.registry import Registry
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import Policy

Say = Callable[[str], None]


class RolloutError(RuntimeError):
    pass


def new_rollout(registry: Registry, target: PolicyTarget, store: StateStore, model: str,
                steps: list[float], interval: float, gates: Gates, confirm_each_step: bool,
                actor: str, admit: Callable[[str, str], None] | None = None) -> RolloutState:
    """A new rollout of the policy's Green against its Blue, saved; ``admit(blue, green)``
    may refuse it first (raising RolloutError), before anything is moved or saved."""
    existing = store.load()
    if existing is not None and not existing.finished:
        raise RolloutError(f"rollout {existing.id} is {existing.status} at step "
                           f"{existing.step_index}: resume or abort it first")
    if not steps or any(not 0 < s <= 100 for s in steps) or steps != sorted(steps):
        raise RolloutError(f"steps must rise within 0 < step <= 100, got {steps}")
    policy, _ = target.read()
    green = policy.version_of("green")
    if green is None:
        raise RolloutError("the traffic policy names no Green model to roll out")
    blue = policy.version_of("blue")
    assert blue is not None
    if admit is not None:
        admit(blue, green)
    if registry.stage_of(model, green) == "None":
        registry.move(model, green, "Staging", actor, "candidate for a progressive rollout")
    state = RolloutState(id=uuid.uuid4().hex[:8], model=model, blue_version=blue,
                         green_version=green, steps=steps, interval_seconds=interval,
                         confirm_each_step=confirm_each_step, gates=asdict(gates))
    store.save(state)
    return state


class RolloutRunner:
    def __init__(self, state: RolloutState, store: StateStore, target: PolicyTarget,
                 query: Query, registry: Registry, actor: str, say: Say,
                 hold_timeout: float | None = None, tick: float = 0.25,
                 outcomes: OutcomeSources | None = None) -> None:
        self.state, self.store, self.target = state, store, target
        self.query, self.registry, self.actor, self.say = query, registry, actor, say
        self.gates = Gates(**state.gates)
        self.hold_timeout = hold_timeout
        self.tick = tick
        # the shadow gates are the product's (a premium ratio, a decision agreement...)
        meta = registry.get(state.model, state.green_version).metadata
        product = products.of_metadata(meta)
        self.shadow_gates = product.shadow_gates
        # ... and so is the business outcome a live step is judged on (conversion, reviewers)
        self.outcome_gate, self.outcomes = product.outcome_gate, outcomes or OutcomeSources()
        # one model's series, where one Prometheus scrapes several products' stacks
        self.scope = f'model="{state.model}"'

    def run(self) -> RolloutState:
        s = self.state
        held_since: float | None = None
        while not s.finished and s.status != "awaiting_confirmation":
            shadow_phase = s.step_index < 0
            weight = s.current_weight
            label = "shadow (no live traffic)" if shadow_phase else f"step {weight:g}%"
            applied = apply_change(self.target, functools.partial(
                Policy.with_traffic, green_weight=weight, shadow=True, source="rollout"),
                why=Change(change="rollout step", actor=self.actor,
                           reason=f"rollout {s.id} of v{s.green_version}: {label}"))
            self.say(f"[{s.id}] {label}: policy generation {applied.generation}, observing "
                     f"for {s.interval_seconds:g}s")
            if not self._wait(s.interval_seconds):
                return self.abort("aborted by operator")
            ev = (shadow_evidence if shadow_phase else live_evidence)(
                self.query, self.gates, round(s.interval_seconds), self.shadow_gates,
                self.scope)
            if not shadow_phase:
                ev = Evidence(ev.window, [*ev.checks,
                                          *self.outcomes.checks(self.outcome_gate, s)])
            self._print(label, ev)
            if ev.verdict == "fail":
                return self._rollback(ev.reasons(), ev)
            if ev.verdict == "hold":
                held_since = held_since or time.monotonic()
                s.record(step=s.step_index, weight=weight, decision="hold",
                         evidence=ev.as_dict())
                self.store.save(s)
                self.say(f"[{s.id}] holding at {label}: {ev.reasons()}")
                if self.hold_timeout is not None and \
                        time.monotonic() - held_since > self.hold_timeout:
                    self.say(f"[{s.id}] still holding after {self.hold_timeout:g}s; the "
                             "rollout stays here: `quoteflow rollout resume` or `abort`")
                    return s
                continue
            held_since = None
            s.record(step=s.step_index, weight=weight, decision="pass", evidence=ev.as_dict())
            if s.step_index == len(s.steps) - 1:
                return self._complete()
            s.step_index += 1
            if s.confirm_each_step:
                s.status = "awaiting_confirmation"
                self.say(f"[{s.id}] gates passed; waiting for `quoteflow rollout promote` "
                         f"to go to {s.current_weight:g}% (or `abort`)")
            self.store.save(s)
        return s

    def _wait(self, seconds: float) -> bool:
        """Sleep, watching for an abort written by another command. False when aborted."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(min(self.tick, max(0.0, end - time.monotonic())))
            stored = self.store.load()
            if stored is not None and stored.id == self.state.id and \
                    stored.status == "abort_requested":
                return False
        return True

    def _print(self, label: str, ev: Evidence) -> None:
        self.say(f"[{self.state.id}] evidence at {label} over {ev.window}: {ev.verdict.upper()}")
        for c in ev.checks:
            value = "n/a" if c.value is None else f"{c.value:.4g}"
            limit = "n/a" if c.threshold is None else f"{c.threshold:.4g}"
            self.say(f"    {c.gate:<18} value {value:>10}  threshold {limit:>10}  "
                     f"{c.verdict:<4}  {c.note}")

    def abort(self, reason: str) -> RolloutState:
        """Green to 0 and shadow off now, the candidate archived; the rollout ends
        ``aborted`` with ``reason``."""
        return self._rollback(reason, None, status="aborted")

    def _rollback(self, reason: str, ev: Evidence | None,
                  status: str = "rolled_back") -> RolloutState:
        s = self.state
        applied = apply_change(self.target, Policy.killed, why=Change(
            change="abort" if status == "aborted" else "rollback", actor=self.actor,
            reason=f"rollout {s.id}: {reason}"[:1000]))
        s.status, s.reason = status, reason
        s.record(step=s.step_index, weight=s.current_weight, decision=status, reason=reason,
                 evidence=ev.as_dict() if ev else None)
        self.store.save(s)
        if self.registry.stage_of(s.model, s.green_version) in ("None", "Staging"):
            self.registry.move(s.model, s.green_version, "Archived", self.actor,
                               f"rollout {s.id} {status}: {reason}",
                               evidence={"rollout": s.id, "history": s.history[-3:]})
        self.say(f"[{s.id}] {status.upper().replace('_', ' ')}: Green to 0%, shadow off "
                 f"(generation {applied.generation}). Why: {reason}")
        return s

    def _complete(self) -> RolloutState:
        s = self.state
        steps = ", ".join(f"{x:g}%" for x in s.steps)
        events = self.registry.move(
            s.model, s.green_version, "Production", self.actor,
            f"rollout {s.id} completed: every gate passed at {steps}",
            evidence={"rollout": s.id, "history": s.history})
        s.status, s.reason = "completed", "all steps passed"
        s.record(step=s.step_index, weight=s.current_weight, decision="completed",
                 registry=[{"version": e["version"], "to": e["to"]} for e in events])
        self.store.save(s)
        archived = [e["version"] for e in events if e["to"] == "Archived"]
        self.say(f"[{s.id}] COMPLETED: {s.model} v{s.green_version} serves 100% and is now "
                 f"Production{f'; v{archived[0]} archived' if archived else ''}. "
                 f"Next: deploy v{s.green_version} as "
                 "Blue (helm --set inference.colors.blue.version=... or restart `quoteflow up`),"
                 " then `quoteflow traffic set --green 0`.")
        return s


def request_abort(store: StateStore) -> RolloutState:
    s = store.load()
    if s is None or s.finished:
        raise RolloutError("no rollout in progress")
    s.status = "abort_requested"
    s.record(step=s.step_index, weight=s.current_weight, decision="abort requested")
    store.save(s)
    return s


def describe(s: RolloutState) -> dict[str, Any]:
    return {"id": s.id, "model": s.model, "blue": s.blue_version, "green": s.green_version,
            "status": s.status, "step": "shadow" if s.step_index < 0 else
            f"{s.current_weight:g}%", "steps": s.steps, "reason": s.reason,
            "last": s.history[-1] if s.history else None}
