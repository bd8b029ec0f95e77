"""Effective-dated tariffs: parsing, the schedule's changes, which tariff prices a cover."""

from __future__ import annotations

import datetime as dt

import pytest

from quoteflow.traffic.policy import PolicyError, Tariff, parse_policy
from quoteflow.traffic.tariffs import (
    CURRENT,
    CoverStartError,
    cover_start_instant,
    tariff_for,
)

UTC = dt.UTC
DOC = """
blue: {version: "1"}
green: {version: "2"}
green_weight: 10
tariffs:
  - {effective: 2027-01-01, blue: {version: "3"}}
  - effective: "2027-02-01T00:00:00+01:00"
    blue: {version: "4"}
    green: {version: "5"}
    green_weight: 25
    shadow: {enabled: true, sample: 0.5}
"""
NOW = dt.datetime(2026, 12, 2, 22, 0, tzinfo=UTC)


def at(text: str) -> dt.datetime:
    return cover_start_instant(text, NOW)


def test_a_cover_gets_the_tariff_in_effect_at_its_start_boundaries_included() -> None:
    p = parse_policy(DOC, "t")
    assert tariff_for(p, at("2026-12-31")).name == CURRENT
    assert tariff_for(p, at("2026-12-31")).split.version_of("blue") == "1"
    # exactly at the instant: the new tariff; a microsecond before: the old one
    jan = tariff_for(p, dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert jan.name == "2027-01-01T00:00:00Z" and jan.split.version_of("blue") == "3"
    before = dt.datetime(2027, 1, 1, tzinfo=UTC) - dt.timedelta(microseconds=1)
    assert tariff_for(p, before).name == CURRENT
    assert tariff_for(p, at("2027-01-31")).split.version_of("blue") == "3"


def test_time_zones_an_offset_instant_is_compared_in_utc() -> None:
    p = parse_policy(DOC, "t")
    # 2027-02-01T00:00+01:00 is 2027-01-31T23:00Z: a cover starting 31 January (midnight
    # UTC) is before it, one starting at 23:30 UTC that day is after it
    assert p.tariffs[1].effective == dt.datetime(2027, 1, 31, 23, tzinfo=UTC)
    assert tariff_for(p, at("2027-01-31")).split.version_of("blue") == "3"
    late = tariff_for(p, at("2027-01-31T23:30:00+00:00"))
    assert late.split.version_of("green") == "5" and late.split.green_weight == 25
    # the same instant written in another zone chooses the same tariff
    assert tariff_for(p, at("2027-02-01T00:30:00+01:00")).name == late.name


def test_the_reason_says_which_tariff_and_why() -> None:
    p = parse_policy(DOC, "t")
    r = tariff_for(p, at("2027-01-02")).reason()
    assert r == {"tariff": "3", "effective": "2027-01-01T00:00:00Z",
                 "cover_start": "2027-01-02T00:00:00Z",
                 "rule": "cover_start >= effective (the last such scheduled tariff)"}
    assert "before every scheduled" in tariff_for(p, at("2026-12-03")).reason()["rule"]
    plain = parse_policy("blue: {version: '1'}", "t")
    assert tariff_for(plain, NOW).reason()["rule"] == "no tariff scheduled: the current one"


def test_no_cover_start_is_the_quote_instant_and_bad_ones_are_named() -> None:
    assert cover_start_instant(None, NOW) == NOW
    with pytest.raises(CoverStartError, match="not an ISO"):
        cover_start_instant("31/01/2027", NOW)
    with pytest.raises(CoverStartError, match="no time zone"):
        cover_start_instant("2027-01-31T10:00:00", NOW)


@pytest.mark.parametrize(("tariffs", "needle"), [
    ("- {effective: 2027-02-01, blue: {version: '3'}}\n"
     "  - {effective: 2027-01-01, blue: {version: '4'}}", "strictly increase"),
    ("- {effective: 2027-01-01, blue: {version: '3'}}\n"
     "  - {effective: '2027-01-01T01:00:00+01:00', blue: {version: '4'}}", "strictly increase"),
    ("- {effective: '2027-01-01T00:00:00', blue: {version: '3'}}", "no time zone"),
    ("- {effective: 'next tuesday', blue: {version: '3'}}", "tariffs.0.effective"),
    ("- {blue: {version: '3'}}", "tariffs.0.effective"),
    ("- {effective: 2027-01-01, blue: {version: '3'}, green_weight: 5}", "needs a green"),
    ("- {effective: 2027-01-01, blue: {version: '3'}, weight: 5}", "tariffs.0.weight"),
    ("{effective: 2027-01-01}", "tariffs"),
])
def test_a_bad_schedule_is_refused_naming_the_tariff(tariffs: str, needle: str) -> None:
    with pytest.raises(PolicyError, match=needle):
        parse_policy(f"blue: {{version: '1'}}\ntariffs:\n  {tariffs}\n", "policy.yaml")


def test_schedule_unschedule_and_the_kill_switch_reach_every_tariff() -> None:
    p = parse_policy("blue: {version: '1'}\ngreen: {version: '2'}\ngreen_weight: 50", "t")
    assert "tariffs" not in p.document()  # no schedule: the document reads as before
    t = Tariff.model_validate({"effective": "2027-03-01", "blue": {"version": "6"},
                               "green": {"version": "7"}, "green_weight": 30})
    s = p.scheduled(t)
    assert [x.version_of("blue") for x in s.tariffs] == ["6"]
    again = s.scheduled(t.model_copy(update={"blue": t.green}))  # same instant: replaced
    assert len(again.tariffs) == 1 and again.tariffs[0].version_of("blue") == "7"
    killed = s.killed()
    assert killed.green_weight == 0 and killed.tariffs[0].green_weight == 0
    assert not killed.tariffs[0].shadow.enabled
    assert s.unscheduled(t.effective).tariffs == []
    with pytest.raises(PolicyError, match="no tariff is scheduled at"):
        p.unscheduled(t.effective)
    # the schedule survives a round trip through its document
    assert parse_policy(s.document(), "t") == s.model_copy(update={"generation": None})
