"""Effective-dated tariffs over real HTTP (issue 26 item 1): with a tariff scheduled for
tomorrow, a quote whose cover starts today gets the current tariff and one starting
tomorrow the new one, from the same router at the same moment; both are in the ledger
with the reason, and replay reproduces both."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quoteflow.local.stack import Stack
from tests.e2e.helpers import TOKEN, get_json, make_stack, post_quotes, quote_body, run


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Blue serves version 1 now and pins 2, the Blue of the tariff scheduled below
    st = make_stack(trained_registry, tmp_path_factory.mktemp("tariffs"), green_version=None,
                    env={"inference-blue": {"QUOTEFLOW_INFERENCE_EXTRA_VERSIONS": '["2"]'}})
    with st:
        yield st


def traffic(st: Stack, *args: str) -> str:
    """The SRE's own command against this stack's router; its output."""
    token = st.config.workdir / "token"
    token.write_text(TOKEN)
    done = subprocess.run(
        [sys.executable, "-m", "quoteflow.cli", "traffic", *args, "--router",
         st.config.url("router"), "--token-file", str(token)],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("QUOTEFLOW_")})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_each_cover_start_gets_its_tariff_recorded_and_replayed(
        stack: Stack, trained_registry: Path) -> None:
    url = stack.config.url("router")
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    effective = f"{tomorrow.isoformat()}T00:00:00Z"
    traffic(stack, "schedule", "--effective", tomorrow.isoformat(), "--blue", "2",
            "--actor", "actuary-ana", "--reason", "January's tariff (review R-12)")
    view = get_json(url + "/admin/traffic")
    assert view["policy"]["tariffs"][0]["effective"] == effective
    shown = traffic(stack, "show")
    assert "tariffs: by cover start (a cover starting now gets: current)" in shown
    assert f"  from {effective}: blue 2, green - at 0%, shadow off" in shown

    # the same moment, the same router, the same customer: two cover starts
    today_q, tomorrow_q = run(post_quotes(url, [
        quote_body(customer_key="cust-tariff"),
        quote_body(customer_key="cust-tariff", cover_start=tomorrow.isoformat())]))
    assert today_q.status == 200 and tomorrow_q.status == 200, (today_q, tomorrow_q)
    assert today_q.body["model"]["version"] == "1"
    assert tomorrow_q.body["model"]["version"] == "2"
    assert today_q.body["premium"] != tomorrow_q.body["premium"]  # two different tariffs

    first = get_json(f"{url}/v1/quotes/{today_q.body['quote_id']}")
    second = get_json(f"{url}/v1/quotes/{tomorrow_q.body['quote_id']}")
    assert first["model_version"] == "1" and second["model_version"] == "2"
    assert first["reason"]["tariff"]["effective"] == "current"
    assert first["reason"]["tariff"]["rule"].startswith("cover_start before every scheduled")
    assert second["reason"]["tariff"] == {
        "tariff": "2", "effective": effective, "cover_start": effective,
        "rule": "cover_start >= effective (the last such scheduled tariff)"}

    # asked again, each is the quote already given (its own tariff's)
    again = run(post_quotes(url, [quote_body(customer_key="cust-tariff"),
                                  quote_body(customer_key="cust-tariff",
                                             cover_start=tomorrow.isoformat())]))
    assert [a.body["quote_id"] for a in again] == [today_q.body["quote_id"],
                                                   tomorrow_q.body["quote_id"]]

    for quote_id in (today_q.body["quote_id"], tomorrow_q.body["quote_id"]):
        done = subprocess.run(
            [sys.executable, "-m", "quoteflow.cli", "quotes", "replay", quote_id,
             "--registry", str(trained_registry),
             "--ledger", f"sqlite:///{stack.config.ledger_file}"],
            capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{quote_id}: identical" in done.stdout and "1 identical, 0 differ" in done.stdout
    assert json.dumps(first["reason"]) != json.dumps(second["reason"])


def test_every_change_is_in_the_history_with_who_and_why(stack: Stack) -> None:
    traffic(stack, "kill", "--actor", "sre-bo", "--reason", "INC-42: élan check")
    entries = [json.loads(line) for line in traffic(stack, "history", "--json").splitlines()]
    schedule, kill = entries[-2:]
    assert (schedule["change"], schedule["actor"], schedule["reason"]) == (
        "schedule", "actuary-ana", "January's tariff (review R-12)")
    assert (kill["change"], kill["actor"], kill["reason"]) == (
        "kill", "sre-bo", "INC-42: élan check")
    assert kill["generation"] == schedule["generation"] + 1
    assert kill["policy"]["tariffs"][0]["blue"] == {"version": "2"}  # the schedule stays
    text = traffic(stack, "history", "--limit", "1")
    assert "kill       by sre-bo: INC-42: élan check -> blue 1" in text
