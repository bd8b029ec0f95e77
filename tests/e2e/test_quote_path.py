"""The quote path over real HTTP: four `quoteflow serve` processes on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from quoteflow.local.stack import Stack
from tests.e2e.helpers import (
    TOKEN,
    get_json,
    get_text,
    make_stack,
    metric_value,
    post_quotes,
    put_policy,
    quote_body,
    run,
)


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # no shadow rate cap: the shadow test counts every one of a burst of quotes
    st = make_stack(trained_registry, tmp_path_factory.mktemp("stack"), green_weight=20,
                    env={"router": {"QUOTEFLOW_ROUTER_SHADOW_MAX_PER_SECOND": "0"}})
    with st:
        yield st


def set_policy(stack: Stack, **changes: Any) -> dict[str, Any]:
    url = stack.config.url("router")
    policy = get_json(url + "/admin/traffic")["policy"]
    policy.pop("generation")
    policy.update(changes)
    status, body = put_policy(url, policy)
    assert status == 200, body
    return body


def forget_quotes(stack: Stack, customer_keys: str) -> None:
    """Delete recorded quotes (SQL LIKE pattern on the customer key) from the stack's
    SQLite ledger, so the same requests are priced again instead of honoured."""
    import sqlite3

    with sqlite3.connect(stack.config.ledger_file, timeout=10) as db:
        db.execute("DELETE FROM quotes WHERE customer_key LIKE ?", (customer_keys,))


def test_split_matches_weight_is_sticky_and_monotone(stack: Stack) -> None:
    url = stack.config.url("router")
    set_policy(stack, green_weight=20, shadow={"enabled": False, "sample": 1.0})
    keys = [f"customer-{i}" for i in range(10_000)]
    first = run(post_quotes(url, (quote_body(customer_key=k) for k in keys), concurrency=8))
    assert all(a.status == 200 for a in first), [a for a in first if a.status != 200][:3]
    # the color each key was assigned (a failover answer names the color that failed)
    colors = {k: a.failover_from or a.body["model"]["color"]
              for k, a in zip(keys, first, strict=True)}
    greens = sum(c == "green" for c in colors.values())
    # Binomial(10000, 0.2): sd 40; five sd either side
    assert 1800 <= greens <= 2200, greens
    # each color is served by the model version the policy names
    assert {a.body["model"]["version"] for a in first if a.body["model"]["color"] == "green"} \
        == {"2"}
    assert {a.body["model"]["version"] for a in first if a.body["model"]["color"] == "blue"} \
        == {"1"}

    sample = keys[:2000]
    again = run(post_quotes(url, (quote_body(customer_key=k) for k in sample), concurrency=8))
    assert all(a.status == 200 for a in again), [a for a in again if a.status != 200][:3]
    assert [a.failover_from or a.body["model"]["color"] for a in again] == \
        [colors[k] for k in sample]

    set_policy(stack, green_weight=50)
    # another request of the same customers: priced anew (the same one is honoured as
    # quoted), on the color its key's bucket now falls in
    raised = run(post_quotes(url, (quote_body(customer_key=k, bonus_malus=51) for k in sample),
                             concurrency=8))
    assert all(a.status == 200 for a in raised), [a for a in raised if a.status != 200][:3]
    after = {k: a.failover_from or a.body["model"]["color"]
             for k, a in zip(sample, raised, strict=True)}
    assert all(after[k] == "green" for k in sample if colors[k] == "green"), \
        "raising the Green share moved a Green customer back to Blue"
    moved = sum(1 for k in sample if colors[k] == "blue" and after[k] == "green")
    blues = sum(1 for k in sample if colors[k] == "blue")
    # 30 of the 80 remaining points move: expect 37.5% of Blue keys, +-5 sd
    assert abs(moved / blues - 0.375) < 5 * (0.375 * 0.625 / blues) ** 0.5, (moved, blues)


def test_shadow_changes_nothing_in_the_answer_and_records_the_ratio(stack: Stack) -> None:
    url = stack.config.url("router")
    bodies = [quote_body(customer_key=f"shadow-{i}", bonus_malus=50 + i % 60)
              for i in range(300)]
    set_policy(stack, green_weight=20, shadow={"enabled": False, "sample": 1.0})
    off = run(post_quotes(url, bodies))
    forget_quotes(stack, "shadow-%")  # the second pass is priced again, not honoured
    before = metric_value(get_text(url + "/metrics"), "quoteflow_shadow_premium_ratio_count")
    set_policy(stack, shadow={"enabled": True, "sample": 1.0})
    on = run(post_quotes(url, bodies))
    for a1, a2 in zip(off, on, strict=True):
        assert a1.status == a2.status == 200
        for a in (a1, a2):
            for field in ("quote_id", "quoted_at", "valid_until"):
                a.body.pop(field)
        if a1.failover_from is None and a2.failover_from is None:
            assert a1.body == a2.body
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        metrics = get_text(url + "/metrics")
        if metric_value(metrics, "quoteflow_shadow_premium_ratio_count") - before >= 300:
            break
        time.sleep(0.1)
    assert metric_value(metrics, "quoteflow_shadow_premium_ratio_count") - before == 300
    # Blue-served quotes are shadowed on Green and Green-served ones on Blue
    green_sent = metric_value(metrics, "quoteflow_shadow_sent_total", {"color": "green"})
    blue_sent = metric_value(metrics, "quoteflow_shadow_sent_total", {"color": "blue"})
    served_green = sum(a.body["model"]["color"] == "green" for a in on if not a.failover_from)
    assert (green_sent, blue_sent) == (300 - served_green, served_green)


@pytest.mark.expect_log_errors(r"^router: traffic policy refused")
def test_policy_hot_reload_and_invalid_policy_kept_out(stack: Stack) -> None:
    url = stack.config.url("router")
    path = stack.config.policy_file
    gen = get_json(url + "/admin/traffic")["generation"]
    doc = yaml.safe_load(path.read_text())  # one section per model
    section = doc["models"]["motor"]
    section.pop("generation", None)
    section["green_weight"] = 7
    path.write_text(yaml.safe_dump(doc))
    deadline = time.monotonic() + 5
    while get_json(url + "/admin/traffic")["generation"] == gen and time.monotonic() < deadline:
        time.sleep(0.05)
    view = get_json(url + "/admin/traffic")
    assert view["generation"] == gen + 1
    assert view["policy"]["green_weight"] == 7

    path.write_text("blue: {version: '1'}\ngreen_weight: 150\ncolour: red\n")
    deadline = time.monotonic() + 5
    while get_json(url + "/admin/traffic")["policy_file_error"] is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    view = get_json(url + "/admin/traffic")
    assert "green_weight" in view["policy_file_error"] and "colour" in view["policy_file_error"]
    assert view["generation"] == gen + 1 and view["policy"]["green_weight"] == 7
    answer = run(post_quotes(url, [quote_body()]))[0]
    assert answer.status == 200, answer


def test_admin_writes_need_the_token_and_kill_switch(stack: Stack) -> None:
    url = stack.config.url("router")
    policy = get_json(url + "/admin/traffic")["policy"]
    assert put_policy(url, policy, token=None)[0] == 401
    assert put_policy(url, policy, token="wrong")[0] == 401
    status, body = put_policy(url, {"blue": {"version": "1"}, "green_weight": 101})
    assert status == 422 and "green_weight" in body["detail"]
    set_policy(stack, green_weight=30, shadow={"enabled": True, "sample": 1.0})
    import urllib.request

    req = urllib.request.Request(url + "/admin/traffic/kill", method="POST",
                                 headers={"authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req) as r:
        view = __import__("json").loads(r.read())
    assert view["policy"]["green_weight"] == 0 and view["policy"]["shadow"]["enabled"] is False
    results = run(post_quotes(url, (quote_body(customer_key=f"k{i}") for i in range(200))))
    assert {a.body["model"]["color"] for a in results} == {"blue"}, (
        get_json(url + "/admin/traffic"), get_text(url + "/metrics"))
    # the kill switch was written where the policy lives (its model's section): a
    # restart keeps it
    doc = yaml.safe_load(stack.config.policy_file.read_text())
    assert doc["models"]["motor"]["green_weight"] == 0


def test_admin_writes_disabled_without_a_token(trained_registry: Path, tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path)
    st.config.admin_token = None
    with st:
        url = st.config.url("router")
        status, body = put_policy(url, {"blue": {"version": "1"}})
        assert status == 403 and "disabled" in body["detail"]


def test_green_killed_mid_run_costs_no_quote(trained_registry: Path, tmp_path: Path) -> None:
    import asyncio
    import signal

    st = make_stack(trained_registry, tmp_path, green_weight=50)
    with st:
        url = st.config.url("router")

        async def scenario() -> list[tuple[int, dict[str, Any]]]:
            bodies = [quote_body(customer_key=f"kill-{i}") for i in range(3000)]
            task = asyncio.create_task(post_quotes(url, bodies, concurrency=8))
            await asyncio.sleep(1.0)
            st.signal("inference-green", signal.SIGKILL)
            return await task

        results = run(scenario())
        failed = [a for a in results if a.status != 200]
        assert not failed, failed[:3]
        colors = [a.body["model"]["color"] for a in results]
        assert "green" in colors[:200], "Green served nothing before it was killed"
        assert colors[-500:].count("green") == 0
        metrics = get_text(url + "/metrics")
        assert metric_value(metrics, "quoteflow_failovers_total", {"from_color": "green"}) > 0


def test_slow_or_dead_shadow_target_leaves_live_quotes_alone(trained_registry: Path,
                                                              tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path, green_weight=0, shadow=True,
                    env={"inference-green": {"QUOTEFLOW_INFERENCE_ARTIFICIAL_DELAY_MS": "600"}})
    with st:
        url = st.config.url("router")
        results = run(post_quotes(url, (quote_body(customer_key=f"s{i}") for i in range(400))))
        assert all(a.status == 200 and a.body["model"]["color"] == "blue" for a in results)
        metrics = get_text(url + "/metrics")
        total = metric_value(metrics, "quoteflow_quote_duration_seconds_count")
        # no live quote waited for the 600 ms shadow call
        under = metric_value(metrics, "quoteflow_quote_duration_seconds_bucket", {"le": "0.5"})
        assert total == 400 and under == total
        # the shadow calls time out (0.25 s) after the live answers went out: wait for them
        for _ in range(50):
            metrics = get_text(url + "/metrics")
            failed = metric_value(metrics, "quoteflow_shadow_failed_total", {"reason": "timeout"})
            dropped = metric_value(metrics, "quoteflow_shadow_dropped_total")
            if failed + dropped > 0:
                break
            time.sleep(0.1)
        assert failed + dropped > 0
        # shadow target gone entirely: still every live quote answered
        st.stop_service("inference-green")
        results = run(post_quotes(url, (quote_body(customer_key=f"t{i}") for i in range(200))))
        assert all(a.status == 200 for a in results)
