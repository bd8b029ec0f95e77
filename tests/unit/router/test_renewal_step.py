"""Renewals on the quote path in process: a bound quote of the same customer is renewed
within the cap and never above new business; anything else is refused naming `renews`."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from pathlib import Path

import orjson
from prometheus_client import REGISTRY

from quoteflow.router.quote import Outcome, Rejected, Served, Unavailable
from quoteflow.router.quotes import QuoteService
from tests.unit.router.fakes import FakeUpstreams, MemoryLedger, body, service


def serve(svc: QuoteService, payload: bytes) -> Outcome:
    return asyncio.run(svc.serve(payload))


def bound_quote(svc: QuoteService, ledger: MemoryLedger, customer: str,
                premium: str) -> str:
    """A quote on record for ``customer`` at ``premium``, bound."""
    first = serve(svc, body(customer, bonus_malus=90))
    assert isinstance(first, Served)
    qid = first.body["quote_id"]
    rec = ledger.records[qid]
    ledger.records[qid] = rec.model_copy(update={"premium": Decimal(premium),
                                                 "bound_at": dt.datetime.now(dt.UTC)})
    return qid


def premium(out: Served) -> str:
    return str(orjson.loads(orjson.dumps(out.body))["premium"])  # as the client reads it


def refusal(outcome: Outcome) -> str:
    assert isinstance(outcome, Rejected) and outcome.status == 422, outcome
    (err,) = orjson.loads(outcome.errors)["detail"]
    assert err["loc"] == ["body", "renews"]
    return str(err["msg"])


def test_a_renewal_is_held_within_the_cap_and_recorded_with_its_prior(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    qid = bound_quote(svc, ledger, "cust-renew", "300.00")  # new business now: 412.37
    hits = REGISTRY.get_sample_value("quoteflow_guardrail_hits_total",
                                     {"color": "blue", "rule": "renewal_cap"}) or 0.0
    hits += REGISTRY.get_sample_value("quoteflow_guardrail_hits_total",
                                      {"color": "green", "rule": "renewal_cap"}) or 0.0

    out = serve(svc, body("cust-renew", renews=qid))
    assert isinstance(out, Served) and not out.requote
    assert premium(out) == "345.0"  # 300 + 15%, not 412.37
    held = out.body["breakdown"]["guardrails"]
    assert held["uncapped_premium"] == 412.37 and held["prior_premium"] == 300.0
    assert held["new_business_premium"] == 412.37
    assert held["rules"] == [{"rule": "renewal_cap", "by": -67.37}]
    rec = ledger.records[out.body["quote_id"]]
    assert rec.premium == Decimal("345.00")
    assert rec.reason.renewal is not None
    assert (rec.reason.renewal.quote_id, rec.reason.renewal.prior_premium) == (
        qid, Decimal("300.00"))
    after = sum(REGISTRY.get_sample_value("quoteflow_guardrail_hits_total",
                                          {"color": c, "rule": "renewal_cap"}) or 0.0
                for c in ("blue", "green"))
    assert after == hits + 1


def test_a_renewal_never_costs_more_than_new_business(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    qid = bound_quote(svc, ledger, "cust-enbp", "600.00")
    out = serve(svc, body("cust-enbp", renews=qid))
    assert isinstance(out, Served)
    # the cap would hold 510.00; ENBP brings it to the new-business 412.37
    assert premium(out) == "412.37"
    assert [r["rule"] for r in out.body["breakdown"]["guardrails"]["rules"]] == [
        "renewal_cap", "enbp"]


def test_only_a_bound_quote_of_the_same_customer_can_be_renewed(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    svc = service(tmp_path, ups, ledger)
    quoted = serve(svc, body("cust-unbound"))
    assert isinstance(quoted, Served)
    unbound = quoted.body["quote_id"]
    assert "never bound" in refusal(serve(svc, body("cust-unbound", renews=unbound)))
    bound = bound_quote(svc, ledger, "cust-owner", "300.00")
    assert "not this customer's" in refusal(serve(svc, body("cust-other", renews=bound)))
    assert "is on record" in refusal(serve(svc, body("cust-owner", renews="f" * 32)))
    assert len([r for r in ledger.records.values() if r.reason.renewal]) == 0


def test_renewals_without_a_ledger_or_with_it_down(tmp_path: Path) -> None:
    no_ledger = service(tmp_path, FakeUpstreams(), None)
    assert "need the quote ledger" in refusal(serve(no_ledger, body("c", renews="a" * 32)))
    ledger = MemoryLedger()
    svc = service(tmp_path, FakeUpstreams(), ledger)
    qid = bound_quote(svc, ledger, "cust-down", "300.00")
    ledger.down_on = frozenset({"get"})
    out = serve(svc, body("cust-down", renews=qid))
    assert isinstance(out, Unavailable) and "could not be recorded" in out.detail
