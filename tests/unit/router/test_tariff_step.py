"""The quote path's tariff step in process: a cover starting under a scheduled tariff is
priced by that tariff's version, named to the color's process, recorded with why; one
starting before it is priced as before."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from quoteflow.router.quote import Served, Unavailable
from tests.unit.router.fakes import FakeUpstreams, MemoryLedger, body, service


def test_the_cover_start_picks_the_tariff_and_the_ledger_says_why(tmp_path: Path) -> None:
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    doc = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 0,
           "tariffs": [{"effective": tomorrow.isoformat(), "blue": {"version": "3"},
                        "green": {"version": "4"}, "green_weight": 100}]}
    ups, ledger = FakeUpstreams(pinned={"blue": ("1", "3"), "green": ("2", "4")}), MemoryLedger()
    svc = service(tmp_path, ups, ledger, doc)
    now = asyncio.run(svc.serve(body("cust-t", quote_date=None)))
    later = asyncio.run(svc.serve(body("cust-t", quote_date=None,
                                       cover_start=tomorrow.isoformat())))
    assert isinstance(now, Served) and isinstance(later, Served)
    # within each tariff its own split: today's 0% Green, tomorrow's 100% Green
    assert (now.color, later.color) == ("blue", "green")
    assert ups.named == [None, "4"]  # only a scheduled tariff's version is named
    first, second = (ledger.records[a.body["quote_id"]] for a in (now, later))
    assert (first.model_version, second.model_version) == ("1", "4")
    assert first.reason.tariff == {
        "tariff": "1", "effective": "current", "cover_start": f"{today}T00:00:00Z",
        "rule": "cover_start before every scheduled tariff: the current one"}
    assert second.reason.tariff == {
        "tariff": "3", "effective": f"{tomorrow}T00:00:00Z",
        "cover_start": f"{tomorrow}T00:00:00Z",
        "rule": "cover_start >= effective (the last such scheduled tariff)"}
    assert first.request_key != second.request_key
    again = asyncio.run(svc.serve(body("cust-t", quote_date=None,
                                       cover_start=tomorrow.isoformat())))
    assert isinstance(again, Served) and again.requote
    assert again.body["quote_id"] == later.body["quote_id"]


def test_a_color_that_does_not_pin_the_tariffs_version_is_not_asked(tmp_path: Path) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    doc = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 0,
           "tariffs": [{"effective": tomorrow.isoformat(), "blue": {"version": "3"},
                        "green": {"version": "4"}, "green_weight": 50}]}
    ups = FakeUpstreams(pinned={"blue": ("1", "3"), "green": ("2",)})  # green lacks "4"
    svc = service(tmp_path, ups, MemoryLedger(), doc)
    answers = [asyncio.run(svc.serve(body(f"cust-{i}", quote_date=None,
                                          cover_start=tomorrow.isoformat())))
               for i in range(8)]
    assert all(isinstance(a, Served) and a.color == "blue" for a in answers)
    assert set(ups.named) == {"3"}


def test_a_tariff_no_process_pins_is_refused_without_a_call(tmp_path: Path) -> None:
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    doc = {"blue": {"version": "1"},
           "tariffs": [{"effective": tomorrow.isoformat(), "blue": {"version": "3"}}]}
    ups = FakeUpstreams(pinned={"blue": ("1",)})  # the schedule was written ahead of the pods
    svc = service(tmp_path, ups, MemoryLedger(), doc)
    out = asyncio.run(svc.serve(body("cust-x", quote_date=None,
                                     cover_start=tomorrow.isoformat())))
    assert isinstance(out, Unavailable) and "needs blue version 3" in out.detail
    assert ups.calls == [] and ups.events == []  # nothing asked, nothing ejected
    today = asyncio.run(svc.serve(body("cust-x", quote_date=None)))
    assert isinstance(today, Served) and ups.named == [None]  # today's covers still priced
