"""The quote ledger end to end, over real HTTP, on SQLite and on a real PostgreSQL.

A real stack (preprocess, inference Blue v1 and Green v2, router) per store; the
PostgreSQL is a throwaway server this module starts (tests/pgserver.py). Checked:
a 200 is retrievable as recorded; a re-quote is honoured across a traffic switch to
Green 100% and across a rollback (kill switch); binding, rebinding and concurrent
binds; expiry (a registry copy whose v1 holds quotes for two seconds); the ledger
down: 503 with Retry-After, then priced again once it is back.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from quoteflow.local.stack import Stack
from quoteflow.registry import Registry
from tests.e2e.helpers import TOKEN, get_json, make_stack, quote_body
from tests.pgserver import PgServer


def post(url: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any], Any]:
    data = json.dumps(body).encode() if body is not None else b""
    req = urllib.request.Request(url, data=data, method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def traffic(st: Stack, *args: str) -> None:
    """The SRE's own command, against this stack's router."""
    token = st.config.workdir / "token"
    token.write_text(TOKEN)
    subprocess.run([sys.executable, "-m", "quoteflow.cli", "traffic", *args,
                    "--router", st.config.url("router"), "--token-file", str(token)],
                   check=True, capture_output=True, timeout=60,
                   env={k: v for k, v in os.environ.items()
                        if k not in ("QUOTEFLOW_CLI_ADMIN_TOKEN", "QUOTEFLOW_ADMIN_TOKEN")})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ledger_stack(request: pytest.FixtureRequest, trained_registry: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, str]]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg").create_database()
    st = make_stack(trained_registry, tmp_path_factory.mktemp(f"ledger-{request.param}"),
                    ledger_url=url)
    with st:
        yield st, request.param


def test_a_quote_is_recorded_as_answered(ledger_stack: tuple[Stack, str],
                                         trained_registry: Path) -> None:
    st, _ = ledger_stack
    router = st.config.url("router")
    body = quote_body(customer_key="ledger-retrieval")
    status, answer, _ = post(router + "/v1/quote", body)
    assert status == 200, answer
    rec = get_json(f"{router}/v1/quotes/{answer['quote_id']}")
    assert rec["status"] == "quoted" and rec["quote_id"] == answer["quote_id"]
    assert rec["request"] == body  # as received
    assert Decimal(str(rec["premium"])) == Decimal(str(answer["premium"]))
    assert Decimal(str(answer["premium"])).as_tuple().exponent >= -2  # EUR: cents at most
    assert rec["quoted_at"] == answer["quoted_at"] and rec["valid_until"] == answer["valid_until"]
    mv = Registry(trained_registry).get("motor", answer["model"]["version"])
    assert rec["model_sha256"] == mv.metadata["onnx_sha256"]
    assert rec["color"] == answer["model"]["color"] and rec["features_schema"] == "1"
    assert len(rec["features"]) == len(mv.metadata["feature_names"])
    # why this price: each rating factor's effect, answered and recorded (issue 26)
    factors = answer["breakdown"]["rating_factors"]
    assert rec["breakdown"]["rating_factors"] == factors
    assert set(factors) == set(mv.metadata["explanation"]["factors"])
    assert answer["breakdown"]["base_frequency"] * math.prod(factors.values()) == \
        pytest.approx(answer["breakdown"]["expected_frequency"], rel=1e-9)
    status, missing, _ = post(router + "/v1/quote", quote_body())  # no key: a fresh id
    assert status == 200 and missing["quote_id"] != answer["quote_id"]
    with pytest.raises(urllib.error.HTTPError) as e:
        get_json(f"{router}/v1/quotes/no-such-quote")
    assert e.value.code == 404


def test_requote_is_honoured_across_a_switch_and_a_rollback(
        ledger_stack: tuple[Stack, str]) -> None:
    st, _ = ledger_stack
    router = st.config.url("router")
    traffic(st, "set", "--green", "0")
    body = quote_body(customer_key="ledger-requote")
    _, first, _ = post(router + "/v1/quote", body)
    assert first["model"] == {"name": "motor", "version": "1", "color": "blue"}
    traffic(st, "set", "--green", "100")
    _, again, _ = post(router + "/v1/quote", body)
    assert again["quote_id"] == first["quote_id"]
    assert again["premium"] == first["premium"] and again["model"] == first["model"]
    _, other, _ = post(router + "/v1/quote", {**body, "bonus_malus": body["bonus_malus"] + 5})
    assert other["model"]["version"] == "2"  # a new request is priced by today's policy
    traffic(st, "kill")  # rollback: everything back on Blue
    _, after, _ = post(router + "/v1/quote", {**body, "bonus_malus": body["bonus_malus"] + 5})
    assert after["quote_id"] == other["quote_id"] and after["model"]["version"] == "2"
    traffic(st, "set", "--green", "0")


def test_bind_once_even_when_raced(ledger_stack: tuple[Stack, str]) -> None:
    st, _ = ledger_stack
    router = st.config.url("router")
    _, quote, _ = post(router + "/v1/quote", quote_body(customer_key="ledger-bind"))
    qid = quote["quote_id"]

    async def race() -> list[dict[str, Any]]:
        async with aiohttp.ClientSession() as s:
            async def bind() -> dict[str, Any]:
                async with s.post(f"{router}/v1/quotes/{qid}/bind") as r:
                    assert r.status == 200, await r.text()
                    return await r.json()  # type: ignore[no-any-return]
            return await asyncio.gather(*(bind() for _ in range(16)))

    answers = asyncio.run(race())
    assert sum(not a["already_bound"] for a in answers) == 1
    assert len({a["bound_at"] for a in answers}) == 1
    assert all(a["status"] == "bound" for a in answers)
    assert get_json(f"{router}/v1/quotes/{qid}")["bound_at"] == answers[0]["bound_at"]
    status, body, _ = post(f"{router}/v1/quotes/unknown/bind")
    assert status == 404 and "unknown" in body["detail"]


def test_a_renewal_is_capped_and_never_above_new_business(
        ledger_stack: tuple[Stack, str]) -> None:
    """Issue 26: a renewal of a bound quote moves at most the artifact's renewal cap
    (15%) from it and never costs more than the same risk as new business; the answer,
    the record and the router's counter say which rule moved it, and by how much."""
    st, _ = ledger_stack
    router = st.config.url("router")
    traffic(st, "set", "--green", "0")  # one version prices both: the cap is the story

    def bound(key: str, bonus_malus: int) -> tuple[str, Decimal]:
        _, q, _ = post(router + "/v1/quote", quote_body(customer_key=key,
                                                        bonus_malus=bonus_malus))
        assert post(f"{router}/v1/quotes/{q['quote_id']}/bind")[0] == 200
        return q["quote_id"], Decimal(str(q["premium"]))

    def price(key: str, bonus_malus: int, **more: str) -> dict[str, Any]:
        status, a, _ = post(router + "/v1/quote", quote_body(customer_key=key,
                                                             bonus_malus=bonus_malus, **more))
        assert status == 200, a
        return a

    # a worse bonus-malus: new business costs far more than 15% over last year's premium
    qid, prior = bound("renewal-up", 50)
    nb = Decimal(str(price("renewal-up-nb", 120)["premium"]))
    assert nb > prior * Decimal("1.15")
    up = price("renewal-up", 120, renews=qid)
    held = up["breakdown"]["guardrails"]
    assert Decimal(str(up["premium"])) == (prior * Decimal("1.15")).quantize(Decimal("0.01"),
                                                                            "ROUND_FLOOR")
    assert [r["rule"] for r in held["rules"]] == ["renewal_cap"]
    assert Decimal(str(held["new_business_premium"])) == nb
    assert Decimal(str(held["prior_premium"])) == prior
    rec = get_json(f"{router}/v1/quotes/{up['quote_id']}")
    assert rec["breakdown"]["guardrails"] == held
    assert rec["reason"]["renewal"] == {"quote_id": qid, "prior_premium": str(prior)}
    # a better one: the cap would hold 85% of last year's; ENBP gives new business's
    qid, prior = bound("renewal-down", 150)
    nb = Decimal(str(price("renewal-down-nb", 50)["premium"]))
    assert nb < prior * Decimal("0.85")
    down = price("renewal-down", 50, renews=qid)
    assert Decimal(str(down["premium"])) == nb
    assert [r["rule"] for r in down["breakdown"]["guardrails"]["rules"]] == [
        "renewal_cap", "enbp"]
    # refused, naming the field: a quote never bound
    _, unbound, _ = post(router + "/v1/quote", quote_body(customer_key="renewal-unbound"))
    status, err, _ = post(router + "/v1/quote", quote_body(
        customer_key="renewal-unbound", renews=unbound["quote_id"]))
    assert status == 422 and err["detail"][0]["loc"] == ["body", "renews"]
    assert "never bound" in err["detail"][0]["msg"]
    metrics = urllib.request.urlopen(router + "/metrics", timeout=5).read().decode()
    hits = {r: sum(float(v) for v in re.findall(
        rf'^quoteflow_guardrail_hits_total{{color="\w+",rule="{r}"}} (\S+)$', metrics, re.M))
        for r in ("renewal_cap", "enbp")}
    assert hits["renewal_cap"] >= 2 and hits["enbp"] >= 1, hits


@pytest.mark.expect_log_errors  # the router logs the outage it answers 503 for
def test_postgres_outage_gives_retry_after_then_recovers(pg: PgServer,
                                                         trained_registry: Path,
                                                         tmp_path: Path) -> None:
    st = make_stack(trained_registry, tmp_path, ledger_url=pg.create_database())
    with st:
        router = st.config.url("router")
        assert post(router + "/v1/quote", quote_body())[0] == 200
        pg.stop("immediate")
        try:
            outage = [post(router + "/v1/quote", quote_body()) for _ in range(5)]
        finally:
            pg.start()
        assert [s for s, _, _ in outage] == [503] * 5, outage
        assert all(h["Retry-After"] for _, _, h in outage)
        assert all("could not be recorded" in b["detail"] for _, b, _ in outage)
        deadline = time.monotonic() + 30
        while (status := post(router + "/v1/quote", quote_body())[0]) != 200:
            assert status == 503 and time.monotonic() < deadline
            time.sleep(0.2)


def test_an_expired_quote_cannot_be_bound(trained_registry: Path, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(trained_registry, registry)
    meta_path = registry / "motor" / "1" / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["quotes"]["validity_days"] = 2 / 86400  # two seconds
    meta_path.write_text(json.dumps(meta))
    with make_stack(registry, tmp_path / "work") as st:
        router = st.config.url("router")
        body = quote_body(customer_key="ledger-expiry")
        _, quote, _ = post(router + "/v1/quote", body)
        assert quote["model"]["version"] == "1"
        time.sleep(2.5)
        status, refused, _ = post(f"{router}/v1/quotes/{quote['quote_id']}/bind")
        assert status == 409, refused
        assert refused["valid_until"] == quote["valid_until"]
        assert quote["valid_until"].removesuffix("Z") in refused["detail"]
        assert get_json(f"{router}/v1/quotes/{quote['quote_id']}")["status"] == "expired"
        _, fresh, _ = post(router + "/v1/quote", body)  # expired: not honoured again
        assert fresh["quote_id"] != quote["quote_id"]


def test_every_recorded_quote_replays_identical(ledger_stack: tuple[Stack, str],
                                                trained_registry: Path, tmp_path: Path) -> None:
    """Runs after the module's other tests on this stack: their quotes are replayed."""
    st, kind = ledger_stack
    url = st.config.ledger_url or f"sqlite:///{st.config.ledger_file}"
    cmd = [sys.executable, "-m", "quoteflow.cli", "quotes", "replay", "--since", "2000-01-01",
           "--registry", str(trained_registry), "--ledger", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    m = re.search(r"^([\d,]+) quote\(s\) replayed", done.stdout, re.M)
    assert m, done.stdout
    n = int(m.group(1).replace(",", ""))
    assert n >= 5 and f"{n:,} identical, 0 differ" in done.stdout, done.stdout
    if kind != "sqlite":
        return
    # a premium changed behind the ledger's back is caught, and the exit code says so
    import sqlite3

    copy = tmp_path / "tampered.sqlite3"
    with sqlite3.connect(st.config.ledger_file) as live, sqlite3.connect(copy) as db:
        live.backup(db)  # WAL included
        qid = db.execute("SELECT quote_id FROM quotes LIMIT 1").fetchone()[0]
        db.execute("UPDATE quotes SET premium = '1.00' WHERE quote_id = ?", (qid,))
    done = subprocess.run([*cmd[:-1], f"sqlite:///{copy}"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{qid}: DIFFERS: premium" in done.stdout and "recorded 1.00 EUR" in done.stdout
