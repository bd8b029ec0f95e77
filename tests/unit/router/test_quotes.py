"""The quote path in process (QuoteService over fakes, no sockets): re-quote, failover,
the budget, the ledger down, preprocess's refusals; and what each becomes over HTTP."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
from prometheus_client import REGISTRY

from quoteflow.router.app import to_response
from quoteflow.router.quote import Outcome, Rejected, Served, Unavailable
from quoteflow.router.quotes import OWN_WORK_SECONDS, QuoteService
from quoteflow.router.upstream import UpstreamError
from tests.unit.router.fakes import (
    SPLIT,
    FakeUpstreams,
    Inference,
    MemoryLedger,
    body,
    key_assigned_to,
    service,
)

BLUE_ONLY = {"blue": {"version": "1"}}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def serve(svc: QuoteService, payload: bytes) -> Outcome:
    return asyncio.run(svc.serve(payload))


def test_a_fresh_quote_is_recorded_and_the_same_request_is_answered_from_the_ledger(
        tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    first = serve(svc, body("cust-requote"))
    assert isinstance(first, Served) and not first.requote
    assert list(ledger.records) == [first.body["quote_id"]]
    assert len(ups.calls) == 1
    requotes = sample("quoteflow_quote_duration_seconds_count", color=first.color,
                      outcome="requote")

    again = serve(svc, body("cust-requote"))
    assert isinstance(again, Served) and again.requote
    assert len(ups.calls) == 1  # inference was not asked again
    assert again.body["quote_id"] == first.body["quote_id"]
    assert orjson.dumps(again.body) == orjson.dumps(first.body)  # the same premium, exactly
    assert sample("quoteflow_quote_duration_seconds_count", color=first.color,
                  outcome="requote") == requotes + 1


def test_another_request_from_the_same_customer_is_priced_again(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    serve(svc, body("cust-two", bonus_malus=50))
    other = serve(svc, body("cust-two", bonus_malus=60))
    assert isinstance(other, Served) and not other.requote
    assert len(ups.calls) == 2 and len(ledger.records) == 2


def test_the_other_color_answers_when_the_assigned_one_fails(tmp_path: Path) -> None:
    ups = FakeUpstreams(inference={"blue": Inference(), "green": Inference(fail="status_5xx")})
    ledger = MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    before = sample("quoteflow_failovers_total", from_color="green", reason="status_5xx")

    outcome = serve(svc, body(key_assigned_to("green")))
    assert isinstance(outcome, Served)
    assert (outcome.color, outcome.failover_from) == ("blue", "green")
    assert [c for c, _ in ups.calls] == ["green", "blue"]
    assert sample("quoteflow_failovers_total", from_color="green",
                  reason="status_5xx") == before + 1
    assert ups.events == ["failure green status_5xx", "success blue"]
    rec = ledger.records[outcome.body["quote_id"]]
    assert rec.color == "blue" and rec.reason.failover_from == "green"  # why, in the record
    r = to_response(outcome)
    assert r.status_code == 200 and r.headers["x-quoteflow-failover-from"] == "green"


def test_a_color_known_down_is_skipped_without_a_call(tmp_path: Path) -> None:
    ups = FakeUpstreams()
    ups.health["green"].ready = False
    svc = service(tmp_path, ups)
    before = sample("quoteflow_failovers_total", from_color="green", reason="not_ready")
    outcome = serve(svc, body(key_assigned_to("green")))
    assert isinstance(outcome, Served) and outcome.failover_from == "green"
    assert [c for c, _ in ups.calls] == ["blue"]
    assert sample("quoteflow_failovers_total", from_color="green",
                  reason="not_ready") == before + 1


def test_a_first_attempt_that_spends_the_budget_gets_no_second(tmp_path: Path) -> None:
    # Blue alone; its timeout reported only after 0.25 s (a starved loop): no time is left
    ups = FakeUpstreams(inference={"blue": Inference(delay=0.25, late=True),
                                   "green": Inference()})
    svc = service(tmp_path, ups, MemoryLedger(), doc=BLUE_ONLY)
    outcome = serve(svc, body())
    assert isinstance(outcome, Unavailable) and outcome.color == "blue"
    assert len(ups.calls) == 1  # no retry after the budget is spent: 503, not a late 200
    assert to_response(outcome).status_code == 503


def test_the_second_attempt_gets_only_what_is_left_of_the_budget(tmp_path: Path) -> None:
    # both colors slow: the first times out at its own timeout, the second at the budget
    ups = FakeUpstreams(inference={"blue": Inference(delay=1.0), "green": Inference(delay=1.0)})
    svc = service(tmp_path, ups, MemoryLedger())
    s = svc.settings
    t0 = time.perf_counter()
    outcome = serve(svc, body(key_assigned_to("green")))
    took = time.perf_counter() - t0
    assert isinstance(outcome, Unavailable) and outcome.color == "blue"
    (first, t1), (second, t2) = ups.calls
    assert (first, second) == ("green", "blue")
    assert t1 == s.inference_timeout
    left = s.budget_seconds - OWN_WORK_SECONDS - s.inference_timeout
    assert left - 0.02 < t2 <= left  # what was left, not another whole timeout
    assert took < s.budget_seconds + 0.02  # answered at the budget, not a second later


def test_ledger_down_on_the_requote_read_is_503_before_any_pricing(tmp_path: Path) -> None:
    ups = FakeUpstreams()
    svc = service(tmp_path, ups, MemoryLedger(down_on=frozenset({"requote"})))
    outcome = serve(svc, body())
    assert isinstance(outcome, Unavailable) and outcome.color == "none"
    assert ups.calls == []
    r = to_response(outcome)
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert b"could not be recorded" in r.body


def test_ledger_down_on_the_commit_lets_no_price_leave(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger(down_on=frozenset({"commit"}))
    svc = service(tmp_path, ups, ledger)
    before = sample("quoteflow_quotes_total", color="blue", status="503")
    outcome = serve(svc, body(key_assigned_to("blue")))
    assert isinstance(outcome, Unavailable) and outcome.color == "blue"
    assert len(ups.calls) == 1 and ledger.records == {}  # priced, but not recorded
    r = to_response(outcome)
    assert r.status_code == 503 and b"premium" not in r.body
    assert sample("quoteflow_quotes_total", color="blue", status="503") == before + 1


def test_without_a_ledger_the_answer_is_inference_s(tmp_path: Path) -> None:
    ups = FakeUpstreams()
    outcome = serve(service(tmp_path, ups), body(key_assigned_to("blue")))
    assert isinstance(outcome, Served) and not outcome.requote
    assert outcome.body["premium"] == 412.37 and len(outcome.body["quote_id"]) == 32
    assert outcome.body["model"] == {"name": "motor", "version": "1", "color": "blue"}


def test_preprocess_field_errors_pass_through_as_rejected(tmp_path: Path) -> None:
    ups = FakeUpstreams()
    before = sample("quoteflow_quotes_total", color="none", status="422")
    outcome = serve(service(tmp_path, ups, MemoryLedger()), body(vehicle_power="six"))
    assert isinstance(outcome, Rejected) and outcome.status == 422
    assert ups.calls == []
    errors = orjson.loads(outcome.errors)["detail"]
    assert [e["loc"] for e in errors] == [["body", "vehicle_power"]]
    r = to_response(outcome)
    assert r.status_code == 422 and r.body == outcome.errors  # the bytes, as they came
    assert sample("quoteflow_quotes_total", color="none", status="422") == before + 1


def test_preprocess_down_or_failing_is_503(tmp_path: Path) -> None:
    for answer in (UpstreamError("connection", "refused"), (500, b"boom")):
        ups = FakeUpstreams(preprocess=answer)
        outcome = serve(service(tmp_path, ups, MemoryLedger()), body())
        assert isinstance(outcome, Unavailable) and outcome.color == "none"
        assert ups.calls == []


def test_shadow_is_offered_the_served_answer_unless_it_failed_over(tmp_path: Path) -> None:
    shadowed = {**SPLIT, "shadow": {"enabled": True, "sample": 1.0}}
    svc = service(tmp_path, FakeUpstreams(), doc=shadowed)
    serve(svc, body(key_assigned_to("blue")))
    assert svc.shadow.queue.qsize() == 1
    job = svc.shadow.queue.get_nowait()
    assert job.primary == "blue" and job.primary_prediction["premium"] == 412.37

    ups = FakeUpstreams(inference={"blue": Inference(fail="status_5xx"), "green": Inference()})
    svc = service(tmp_path, ups, doc=shadowed)
    assert isinstance(serve(svc, body(key_assigned_to("blue"))), Served)
    assert svc.shadow.queue.qsize() == 0  # a failed-over quote is not compared


def test_a_step_added_to_the_path_runs_in_its_place(tmp_path: Path) -> None:
    """How a later step (a tariff, a guardrail) joins: a method in ``steps``."""
    svc = service(tmp_path, FakeUpstreams())
    seen: list[float] = []

    async def guard(q):  # type: ignore[no-untyped-def]
        seen.append(q.prediction["premium"])
        return Unavailable("refused by the guard") if q.prediction["premium"] > 400 else None

    svc.steps.insert(svc.steps.index(svc.build_answer), guard)
    outcome = serve(svc, body())
    assert seen == [412.37] and outcome == Unavailable("refused by the guard")
