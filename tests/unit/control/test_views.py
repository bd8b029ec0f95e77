"""What `quoteflow traffic show` and `history` print."""

from __future__ import annotations

import datetime as dt

from quoteflow.control.views import history_lines, schedule_lines
from quoteflow.traffic.policy import parse_policy

UTC = dt.UTC
DOC = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 10,
       "tariffs": [{"effective": "2027-01-01", "blue": {"version": "3"}},
                   {"effective": "2027-02-01", "blue": {"version": "4"},
                    "green": {"version": "5"}, "green_weight": 25,
                    "shadow": {"enabled": True}}]}


def test_the_schedule_names_each_tariff_and_the_one_in_effect_now() -> None:
    p = parse_policy(DOC, "t")
    assert schedule_lines(p, dt.datetime(2026, 12, 2, tzinfo=UTC)) == [
        "tariffs: by cover start (a cover starting now gets: current)",
        "  from 2027-01-01T00:00:00Z: blue 3, green - at 0%, shadow off",
        "  from 2027-02-01T00:00:00Z: blue 4, green 5 at 25%, shadow on"]
    lines = schedule_lines(p, dt.datetime(2027, 1, 1, tzinfo=UTC))  # exactly at the instant
    assert lines[1].endswith("<- in effect now") and not lines[2].endswith("now")
    assert schedule_lines(parse_policy({"blue": {"version": "1"}}, "t")) == [
        "tariffs: none scheduled (the above prices every cover start)"]


def test_history_lines_say_when_who_why_and_to_what() -> None:
    entry = {"at": "2026-12-02T22:00:00.000Z", "generation": 4, "change": "schedule",
             "actor": "ana", "reason": "", "model": "motor", "policy": DOC}
    assert history_lines([entry]) == [
        "2026-12-02T22:00:00.000Z  gen 4  schedule   by ana: (no reason given) -> blue 1, "
        "green 2 at 10%, shadow off, 2 scheduled"]
    assert history_lines([]) == ["no change recorded"]
    assert history_lines([{**entry, "policy": {"blue": 3}}])[0].endswith("(policy not readable)")
    assert history_lines([entry], as_json=True)[0].startswith('{"actor": "ana"')
