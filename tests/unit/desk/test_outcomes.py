"""Reviewer outcomes: the join of a decision to the answer it reviewed, and the
per-version, per-color figures, checked by hand-counted examples."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from quoteflow.desk.claims import LABEL_OF, cost_table
from quoteflow.desk.outcomes import MAX_VERSIONS, join, summarise, table

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
CLASSES = ("valid", "fraud", "review")
COST = [[0, 370, 40], [3000, 120, 3000], [400, 120, 0]]


def answer(decision: str, version: str, color: str) -> dict[str, Any]:
    return {"decision": decision, "probabilities": {"valid": 0.2, "fraud": 0.5, "review": 0.3},
            "model": {"name": "claims", "version": version, "color": color}}


def decision(event_id: int, reference: str, action: str, current: dict[str, Any]
             ) -> dict[str, Any]:
    return {"event_id": event_id, "reference": reference, "action": action, "at": AT,
            "actor": "rita", "reason": "seen", "request": {}, **current}


def triaged(event_id: int, claim: str, detail: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": event_id, "claim": claim, "at": AT, "detail": detail}


def test_a_decision_is_joined_to_the_answer_before_it_not_the_claims_latest() -> None:
    first, second = answer("review", "3", "blue"), answer("fraud", "4", "green")
    # triaged (v3) -> reviewer asks documents -> re-triaged (v4) -> reviewer rejects
    rows = join([decision(11, "C1", "request_documents", second),
                 decision(14, "C1", "reject", second)],
                [triaged(10, "C1", {**first, "status": "needs_documents"}),
                 triaged(13, "C1", {**second, "status": "fraud_review"})])
    assert [(r["action"], r["decision"], r["model"]["version"]) for r in rows] == [
        ("request_documents", "review", "3"), ("reject", "fraud", "4")]


def test_an_event_without_the_answer_falls_back_to_the_claims_stored_answer() -> None:
    stored = answer("fraud", "2", "blue")
    [row] = join([decision(5, "C2", "approve", stored)],
                 [triaged(4, "C2", {"decision": "fraud", "status": "fraud_review"})])
    assert row["model"]["version"] == "2" and row["probabilities"] == stored["probabilities"]


def test_figures_per_version_and_color_by_hand() -> None:
    blue, green = answer("fraud", "3", "blue"), answer("fraud", "4", "green")
    rows = [
        {**decision(1, "A", "reject", blue)},                            # fraud/fraud
        {**decision(2, "B", "approve", blue)},                           # valid/fraud
        {**decision(3, "C", "reject", {**blue, "decision": "review"})},  # fraud/review
        {**decision(4, "D", "reject", green)},                           # fraud/fraud
        {**decision(5, "E", "approve", {**green, "model": None})},       # no answer: out
    ]
    b, g = sorted(summarise(rows, LABEL_OF, CLASSES, COST), key=lambda o: o.color)
    assert (b.model_version, b.color, b.reviewed, b.agreed) == ("3", "blue", 3, 1)
    assert (b.fraud_flagged, b.fraud_confirmed, b.fraud_caught) == (2, 2, 1)
    assert b.fraud_precision == 0.5 and b.fraud_recall == 0.5
    assert b.cost == 120 + 370 + 3000 and math.isclose(b.cost_per_claim, 3490 / 3)
    assert (g.reviewed, g.agreement, g.fraud_precision, g.fraud_recall, g.cost) == (
        1, 1.0, 1.0, 1.0, 120.0)
    assert b.as_json()["agreement"] == round(1 / 3, 6)


def test_no_fraud_answers_give_no_precision_rather_than_zero() -> None:
    [o] = summarise([decision(1, "A", "approve", answer("review", "1", "blue"))],
                    LABEL_OF, CLASSES, COST)
    assert math.isnan(o.fraud_precision) and o.as_json()["fraud_precision"] is None
    assert table([o], "EUR").splitlines()[1].split() == [
        "1", "blue", "1", "0.0%", "-", "-", "40.00"]


def test_only_the_newest_versions_are_exported() -> None:
    rows = [decision(i, f"C{i}", "approve", answer("valid", str(i), "blue"))
            for i in range(1, MAX_VERSIONS + 6)]
    found = summarise(rows, LABEL_OF, CLASSES, COST)
    assert [o.model_version for o in found] == [str(v) for v in
                                                range(MAX_VERSIONS + 5, 5, -1)]


def test_the_table_names_every_column_and_the_cost_table_is_the_products() -> None:
    t = cost_table()
    assert t.classes == CLASSES and t.currency == "EUR"
    assert t.cost[1][0] == 3000  # a fraud paid at once costs the average fraud payout
    [o] = summarise([decision(1, "A", "reject", answer("fraud", "7", "green"))], LABEL_OF,
                    t.classes, t.cost)
    text = table([o], t.currency)
    assert text.splitlines()[0].startswith("version  color  reviewed  agreement")
    assert text.splitlines()[1].split() == ["7", "green", "1", "100.0%", "100.0%", "100.0%",
                                            "120.00"]
    assert table([], "EUR") == "no reviewer decision on a triaged claim yet"
