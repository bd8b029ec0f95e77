"""Effective-dated tariffs over real HTTP (issue 26 item 1): with a tariff scheduled for
tomorrow, a quote whose cover starts today gets the current tariff and one starting
tomorrow the new one, from the same router at the same moment; both are in the ledger
with the reason, and replay reproduces both."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from quoteflow.local.stack import Stack
from tests.e2e.helpers import get_json, make_stack, post_quotes, put_policy, quote_body, run


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Blue serves version 1 now and pins 2, the Blue of the tariff scheduled below
    st = make_stack(trained_registry, tmp_path_factory.mktemp("tariffs"), green_version=None,
                    env={"inference-blue": {"QUOTEFLOW_INFERENCE_EXTRA_VERSIONS": '["2"]'}})
    with st:
        yield st


def test_each_cover_start_gets_its_tariff_recorded_and_replayed(
        stack: Stack, trained_registry: Path) -> None:
    url = stack.config.url("router")
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    effective = f"{tomorrow.isoformat()}T00:00:00Z"
    status, view = put_policy(url, {"blue": {"version": "1"}, "tariffs": [
        {"effective": tomorrow.isoformat(), "blue": {"version": "2"}}]})
    assert status == 200, view
    assert view["policy"]["tariffs"][0]["effective"] == effective

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
