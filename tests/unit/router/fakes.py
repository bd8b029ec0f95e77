"""In-process stand-ins for the router's upstreams and ledger store: no sockets.

``FakeUpstreams`` answers preprocess with the real derivation (quoteflow.preprocess.derive),
so its features, sticky key and context are what the service would send; inference per
color is scripted (a delay, a failure, a late timeout). ``MemoryLedger`` keeps records in
a dict and can be told to be down for re-quotes or for commits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from quoteflow import products
from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import QuoteRecord
from quoteflow.preprocess.derive import Derived, derive
from quoteflow.router.ledgering import QuoteLedger
from quoteflow.router.quotes import QuoteService
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer
from quoteflow.router.upstream import Health, UpstreamError
from quoteflow.traffic.policy import PolicyStore, assign, parse_policy

MOTOR = products.get("motor")
PREDICTION = {"premium": 412.37, "currency": "EUR",
              "breakdown": {"pure_premium": 317.2077, "minimum_applied": False,
                            "guardrails": {"uncapped_premium": 412.37, "rules": []}}}
# the artifact's rules as inference states them (MotorProduct.answer_extras)
GUARDRAILS = {"minor_unit": 2, "floor": 150.0, "ceiling": 5000.0, "renewal_cap": 0.15,
              "enbp": True}
SPLIT = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 50}


def body(customer_key: str = "cust-0001", **changes: Any) -> bytes:
    example = MOTOR.request_model.model_json_schema()["examples"][0]
    return orjson.dumps({**example, "customer_key": customer_key, **changes})


def key_assigned_to(color: str, doc: dict[str, Any] = SPLIT) -> str:
    """A customer key the sticky assignment sends to ``color`` under ``doc``."""
    policy = parse_policy(doc, "test")
    return next(k for k in (f"cust-{i}" for i in range(1000)) if assign(k, policy) == color)


@dataclass
class Inference:
    """How one color answers: after ``delay`` seconds, or ``fail`` with that reason.
    ``late``: the timeout is reported only after ``delay`` (a starved event loop)."""

    delay: float = 0.0
    fail: str | None = None
    late: bool = False


@dataclass
class FakeUpstreams:
    preprocess_url: str = "http://preprocess.test"
    preprocess: tuple[int, bytes] | UpstreamError | None = None  # None: derive for real
    inference: dict[str, Inference] = field(
        default_factory=lambda: {"blue": Inference(), "green": Inference()})
    health: dict[str, Health] = field(default_factory=dict)
    calls: list[tuple[str, float]] = field(default_factory=list)  # (color, timeout)
    # each color's versions in scheduled tariffs, and the versions asked for by name
    pinned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    named: list[str | None] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    checks: int = 0

    def __post_init__(self) -> None:
        self.health = self.health or {n: Health(ready=True, version=v, detail="ready")
                                      for n, v in (("preprocess", None), ("blue", "1"),
                                                   ("green", "2"))}

    def usable(self, color: str) -> bool:
        return self.health[color].ready

    def serves(self, color: str, version: str | None) -> bool:
        return self.usable(color) and version in self.pinned.get(color, ())

    async def post(self, url: str, payload: bytes, timeout: float) -> tuple[int, bytes]:
        assert url == f"{self.preprocess_url}/v1/features/motor"
        if isinstance(self.preprocess, UpstreamError):
            raise self.preprocess
        if self.preprocess is not None:
            return self.preprocess
        outcome = derive(MOTOR, payload, dt.datetime.now(dt.UTC).date())
        if isinstance(outcome, Derived):
            return 200, orjson.dumps(outcome.body)
        return 422, orjson.dumps({"detail": outcome.errors})

    async def predict(self, color: str, features: list[float], schema_version: str,
                      timeout: float, version: str | None = None) -> dict[str, Any]:
        self.calls.append((color, timeout))
        self.named.append(version)
        how = self.inference[color]
        if how.late:
            await asyncio.sleep(how.delay)
            raise UpstreamError("timeout", f"{color}: timed out (reported late)")
        if how.delay > timeout:
            await asyncio.sleep(timeout)
            raise UpstreamError("timeout", f"{color}: no answer in {timeout:.3f}s")
        await asyncio.sleep(how.delay)
        if how.fail is not None:
            raise UpstreamError(how.fail, f"{color}: {how.fail}")
        served = version or self.health[color].version or "1"
        return {"model": {"name": "motor", "version": served, "sha256": "a" * 64},
                "predictions": [dict(PREDICTION)], "validity_days": 30.0,
                "guardrails": GUARDRAILS}

    def record_success(self, color: str) -> None:
        self.events.append(f"success {color}")

    def record_failure(self, color: str, reason: str, why: str) -> None:
        self.events.append(f"failure {color} {reason}")

    # --- the server object's side ----------------------------------------------------------

    async def start(self) -> None:
        self.events.append("upstreams start")
        await self.check_all()

    async def check_all(self) -> None:
        self.checks += 1

    async def stop(self) -> None:
        self.events.append("upstreams stop")


@dataclass
class MemoryLedger:
    down_on: frozenset[str] = frozenset()  # "requote", "commit", "get"
    records: dict[str, QuoteRecord] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    kind: str = "memory"

    async def open(self) -> None:
        self.events.append("ledger open")

    async def close(self) -> None:
        self.events.append("ledger close")

    async def durability(self) -> dict[str, str]:
        return {"synchronous": "test"}

    async def record(self, rec: QuoteRecord, timeout: float | None = None) -> None:
        if "commit" in self.down_on:
            raise LedgerUnavailable("commit failed: the store is down")
        self.records[rec.quote_id] = rec

    async def get(self, quote_id: str) -> QuoteRecord | None:
        if "get" in self.down_on:
            raise LedgerUnavailable("read failed: the store is down")
        return self.records.get(quote_id)

    async def find_requote(self, customer_key: str, request_key: str,
                           now: dt.datetime) -> QuoteRecord | None:
        if "requote" in self.down_on:
            raise LedgerUnavailable("read failed: the store is down")
        found = [r for r in self.records.values() if r.customer_key == customer_key
                 and r.request_key == request_key and r.valid_until >= now]
        return max(found, key=lambda r: r.quoted_at) if found else None


def settings(tmp_path: Path, **changes: Any) -> Settings:
    policy = tmp_path / "policy.yaml"
    if not policy.exists():
        policy.write_text(orjson.dumps(SPLIT).decode())
    fields: dict[str, Any] = {"preprocess_url": "http://preprocess.test",
                              "blue_url": "http://blue.test", "green_url": "http://green.test",
                              "policy_file": policy, "product": "motor",
                              "instance": "router-test"}
    return Settings(**{**fields, **changes})


def service(tmp_path: Path, upstreams: FakeUpstreams, ledger: MemoryLedger | None = None,
            doc: dict[str, Any] = SPLIT) -> QuoteService:
    """The quote path over fakes; ``ledger`` None: nothing recorded (ledger off)."""
    s = settings(tmp_path)
    store = PolicyStore(parse_policy(doc, "test"), "test", "motor")
    shadow = ShadowComparer(upstreams, MOTOR, 10, 1, 0.1)  # type: ignore[arg-type]
    quote_ledger = QuoteLedger(ledger, MOTOR, s.instance) if ledger is not None else None  # type: ignore[arg-type]
    return QuoteService(s, MOTOR, store, upstreams, shadow, quote_ledger)  # type: ignore[arg-type]
