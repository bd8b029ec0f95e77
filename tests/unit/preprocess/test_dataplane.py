"""preprocess's dataplane in process: bounded metric labels and a readiness that means it."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import cast

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, ConfigDict

from quoteflow import metrics, products
from quoteflow.preprocess.app import create_app
from quoteflow.preprocess.derive import Dataplane, Derived, Rejected, contract_fields
from quoteflow.preprocess.settings import Settings
from quoteflow.products.base import Product

MOTOR = products.get("motor")
EXAMPLE = MOTOR.request_model.model_json_schema()["examples"][0]


@pytest.fixture
def rejections(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """The refused-fields counter, alone in a registry of its own for this test."""
    counter = Counter("quoteflow_preprocess_rejected_fields_total", "test copy", ["field"],
                      registry=CollectorRegistry())
    monkeypatch.setattr(metrics, "PREPROCESS_REJECTIONS", counter)
    return counter


def series(counter: Counter) -> dict[str, float]:
    return {s.labels["field"]: s.value for s in counter.collect()[0].samples
            if s.name.endswith("_total")}


def test_invented_field_names_do_not_make_series(rejections: Counter) -> None:
    """3,000 requests, each with a field name of its own, through the in-process app
    (httpx's ASGI transport): the label takes the contract's names or `other`, never
    the client's."""
    n = 3000
    bodies = [{**EXAMPLE, f"invented_{i}": i} for i in range(n)]
    bodies += [{**EXAMPLE, "vehicle_power": "six"}, [EXAMPLE]]  # a contract field; no object
    raw = [orjson.dumps(b) for b in bodies] + [b'{"made_up": 1, "made_up": 2}']
    app = create_app(Settings(products=["motor"]))

    async def send() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return [(await c.post("/v1/features/motor", content=body,
                                  headers={"content-type": "application/json"})).status_code
                    for body in raw]

    assert set(asyncio.run(send())) == {422}
    fields = contract_fields(MOTOR)
    got = series(rejections)
    assert len(got) <= len(fields) + 1
    assert set(got) <= fields | {"other"}
    assert got == {"other": n + 2, "vehicle_power": 1}


def test_the_label_is_the_contracts_field_or_other() -> None:
    plane = Dataplane([MOTOR])
    assert plane.field_label(["body", "quote_date"]) == "quote_date"
    assert plane.field_label(["body", "quote_dat"]) == "other"
    assert plane.field_label(["body"]) == "other"
    assert plane.field_label(["body", 0]) == "other"


def test_ready_only_once_every_product_is_warmed() -> None:
    plane = Dataplane([products.get(name) for name in products.names()])
    assert plane.readiness() == (False, {"products": products.names(),
                                         "reason": "warming up"})
    plane.start()
    assert plane.readiness() == (True, {"products": products.names()})
    out = plane.features(MOTOR, orjson.dumps(EXAMPLE), time.perf_counter())
    assert isinstance(out, Derived)


class Broken(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"n": "x"}]})
    n: int


def test_a_product_whose_example_is_refused_is_not_ready(rejections: Counter) -> None:
    broken = cast(Product, SimpleNamespace(name="broken", request_model=Broken))
    plane = Dataplane([MOTOR, broken])
    plane.start()
    ok, detail = plane.readiness()
    assert not ok and detail["reason"].startswith("broken warm-up: ")
    assert isinstance(plane.features(broken, b'{"n": 1.5}', time.perf_counter()), Rejected)
    assert series(rejections) == {"n": 1}


def test_readyz_follows_the_warm_up() -> None:
    app = create_app(Settings(products=["motor"]))
    with TestClient(app) as c:  # the lifespan warms the products
        r = c.get("/readyz")
        assert r.status_code == 200 and r.json()["products"] == ["motor"]
    cold = TestClient(create_app(Settings(products=["motor"])))  # no lifespan: not warmed
    r = cold.get("/readyz")
    assert r.status_code == 503 and r.json()["reason"] == "warming up"
