"""Replay respects the tariff: the recorded version prices again, and a record whose
request no longer gives the cover start that chose its tariff is reported."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from quoteflow import products
from quoteflow.ledger import Reason
from quoteflow.ledger.replay import Replayer
from quoteflow.registry import Registry
from tests.unit.ledger.records import record

REQUEST = {"driver_birth_date": "1985-04-12", "vehicle_first_registration_date": "2019-09-01",
           "area": "C", "bonus_malus": 50, "vehicle_power": 6, "vehicle_brand": "B12",
           "quote_date": "2026-11-23", "cover_start": "2027-01-01"}
TARIFF = {"tariff": "2", "effective": "2027-01-01T00:00:00Z",
          "cover_start": "2027-01-01T00:00:00Z",
          "rule": "cover_start >= effective (the last such scheduled tariff)"}


def test_a_changed_cover_start_is_a_difference(trained_registry: Path) -> None:
    replayer = Replayer(Registry(trained_registry))
    motor = products.get("motor")
    req = motor.request_model.model_validate(REQUEST)
    features = motor.features(motor.columns([req], dt.date(2026, 11, 23)))[0].tolist()
    kept = record(request=REQUEST, reason=Reason(bucket=1, tariff=TARIFF), model_version="2",
                  features=features)
    other = record(request=REQUEST, reason=Reason(bucket=1, tariff={
        **TARIFF, "cover_start": "2027-02-01T00:00:00Z"}), model_version="2",
        features=features)
    kept_diffs = " ".join(replayer.replay(kept).differences)
    other_diffs = " ".join(replayer.replay(other).differences)
    assert "cover start" not in kept_diffs
    assert "cover start 2027-01-01, recorded 2027-02-01T00:00:00Z" in other_diffs
