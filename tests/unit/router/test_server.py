"""The router's server object in process: start, readiness, status, policy reloads, stop
(the ledger closed last), over fake upstreams and a memory ledger."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from quoteflow.router.server import Router
from quoteflow.router.upstream import Health
from quoteflow.traffic.document import load_policy_file
from quoteflow.traffic.policy import PolicyStore
from tests.unit.router.fakes import SPLIT, FakeUpstreams, MemoryLedger, settings


def router(tmp_path: Path, ups: FakeUpstreams, ledger: MemoryLedger | None) -> Router:
    s = settings(tmp_path, policy_poll_interval=0.01)
    store = PolicyStore(load_policy_file(s.policy_file, "motor"), str(s.policy_file), "motor")
    return Router(s, store, ups, ledger)  # type: ignore[arg-type]


def unchecked() -> dict[str, Health]:
    return {n: Health() for n in ("preprocess", "blue", "green")}


def test_start_reload_and_stop_in_order(tmp_path: Path) -> None:
    ups, ledger = FakeUpstreams(), MemoryLedger()
    ledger.events = ups.events  # one timeline for both
    r = router(tmp_path, ups, ledger)

    async def main() -> None:
        await r.start()
        ok, detail = r.readiness()
        assert ok and detail["generation"] == 1
        assert ups.events == ["ledger open", "upstreams start"]  # migrations before traffic
        # a policy edit reaches the store, and the upstreams are re-checked at once
        checks = ups.checks
        r.settings.policy_file.write_text(orjson.dumps({**SPLIT, "green_weight": 10}).decode())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if r.store.generation == 2 and ups.checks > checks:
                break
        assert r.store.policy.green_weight == 10 and ups.checks > checks
        await r.stop()

    asyncio.run(main())
    assert ups.events == ["ledger open", "upstreams start", "upstreams stop", "ledger close"]
    assert all(t.done() for t in r._tasks) and len(r._tasks) == 2


def test_not_ready_until_preprocess_and_one_color_are(tmp_path: Path) -> None:
    ups = FakeUpstreams(health=unchecked())
    r = router(tmp_path, ups, None)
    ok, detail = r.readiness()
    assert not ok and detail["upstreams"]["preprocess"] == "not checked yet"
    ups.health["preprocess"].ready = True
    assert not r.readiness()[0]  # no color can serve
    ups.health["green"].ready = True
    assert r.readiness()[0]


def test_status_names_upstreams_shadow_and_the_policy_file(tmp_path: Path) -> None:
    r = router(tmp_path, FakeUpstreams(), None)
    status = r.status()
    assert status["upstreams"]["blue"] == {"ready": True, "version": "1", "detail": "ready"}
    assert status["shadow_queue"] == 0
    assert status["policy_file_error"] is None and status["writable"] is True
    r.settings.k8s_configmap = "quoteflow-traffic"
    assert r.status()["writable"] is False  # the ConfigMap is changed there, not here


def test_a_refused_policy_edit_keeps_the_running_one_and_is_reported(tmp_path: Path) -> None:
    r = router(tmp_path, FakeUpstreams(), None)

    async def main() -> None:
        await r.start()
        r.settings.policy_file.write_text("green_weight: 300\n")
        for _ in range(200):
            await asyncio.sleep(0.01)
            if r.status()["policy_file_error"]:
                break
        await r.stop()

    asyncio.run(main())
    assert r.status()["policy_file_error"] and r.store.generation == 1


def test_from_settings_records_only_a_priced_product_with_the_ledger_on(
        tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/ledger.sqlite3"
    on = Router.from_settings(settings(tmp_path, ledger={"url": db}))
    assert on.ledger is not None and on.ledger_store is not None
    assert on.quotes.ledger is on.ledger
    off = Router.from_settings(settings(tmp_path, ledger_enabled=False))
    assert off.ledger is None and off.quotes.ledger is None
    (tmp_path / "claims").mkdir()
    policy = tmp_path / "claims" / "policy.yaml"
    policy.write_text(orjson.dumps({"models": {"claims": SPLIT}}).decode())
    claims = Router.from_settings(settings(tmp_path, product="claims", policy_file=policy))
    assert claims.ledger is None  # triage answers are decisions, not prices


def test_in_a_cluster_the_configmap_is_watched_and_stopped_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from quoteflow.traffic import configmap

    ups = FakeUpstreams()

    class Watcher:
        def __init__(self, store: PolicyStore, namespace: str, name: str, key: str) -> None:
            ups.events.append(f"watch {namespace}/{name}:{key}")

        def start(self) -> None:
            ups.events.append("watcher start")

        def stop(self) -> None:
            ups.events.append("watcher stop")

    monkeypatch.setattr(configmap, "ConfigMapWatcher", Watcher)
    r = router(tmp_path, ups, None)
    r.settings.k8s_configmap = "quoteflow-traffic"

    async def main() -> None:
        await r.start()
        await r.stop()

    asyncio.run(main())
    assert ups.events == ["upstreams start", "watch default/quoteflow-traffic:policy.yaml",
                          "watcher start", "watcher stop", "upstreams stop"]
    assert r.status()["writable"] is False
