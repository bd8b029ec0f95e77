"""Each service's transport refusals, in process through httpx's ASGI transport (no sockets).

413, 415 and the admin API's 401/403 come from the app layer, before any upstream or
model is involved, so no lifespan is run here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from quoteflow.inference.app import create_app as inference_app
from quoteflow.inference.settings import Settings as InferenceSettings
from quoteflow.preprocess.app import create_app as preprocess_app
from quoteflow.preprocess.settings import Settings as PreprocessSettings
from quoteflow.router.app import create_app as router_app
from quoteflow.router.settings import Settings as RouterSettings

POLICY = "blue: {version: '1'}\n"


def router(tmp_path: Path, token: str | None) -> FastAPI:
    (tmp_path / "policy.yaml").write_text(POLICY)
    return router_app(RouterSettings(preprocess_url="http://127.0.0.1:9", blue_url="http://127.0.0.1:9",
                                     policy_file=tmp_path / "policy.yaml", admin_token=token))


def call(app: FastAPI, method: str, path: str, **kw: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await c.request(method, path, **kw)  # type: ignore[arg-type]
    return asyncio.run(go())


@pytest.fixture
def apps(tmp_path: Path) -> dict[str, tuple[FastAPI, str]]:
    return {
        "preprocess": (preprocess_app(PreprocessSettings()), "/v1/features"),
        "inference": (inference_app(InferenceSettings(registry_dir=tmp_path, model_name="motor",
                                                      model_version="1")), "/v1/predict"),
        "router": (router(tmp_path, "s3cret"), "/v1/quote"),
    }


@pytest.mark.parametrize("service", ["preprocess", "router"])
def test_wrong_content_type_is_415(apps: dict[str, tuple[FastAPI, str]], service: str) -> None:
    app, path = apps[service]
    r = call(app, "POST", path, content=b"{}", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and r.json()["detail"][0]["type"] == "unsupported_media_type"


@pytest.mark.parametrize("service", ["preprocess", "router"])
def test_oversized_body_is_413(apps: dict[str, tuple[FastAPI, str]], service: str) -> None:
    app, path = apps[service]
    r = call(app, "POST", path, content=b"[" + b"0," * 20_000 + b"0]",
             headers={"content-type": "application/json"})
    assert r.status_code == 413 and "body over" in r.json()["detail"][0]["msg"]


def test_inference_without_its_model_is_503_not_a_crash(
        apps: dict[str, tuple[FastAPI, str]]) -> None:
    app, path = apps["inference"]
    r = call(app, "POST", path, content=b"{}", headers={"content-type": "application/json"})
    assert r.status_code == 503 and r.headers["retry-after"] == "1"


def test_admin_write_with_a_wrong_token_is_401(tmp_path: Path) -> None:
    app = router(tmp_path, "s3cret")
    r = call(app, "PUT", "/admin/traffic", content=POLICY.encode(),
             headers={"authorization": "Bearer wrong", "content-type": "application/json"})
    assert r.status_code == 401 and "www-authenticate" in r.headers
    assert (tmp_path / "policy.yaml").read_text() == POLICY


def test_admin_write_without_a_configured_token_is_403(tmp_path: Path) -> None:
    app = router(tmp_path, None)
    r = call(app, "PUT", "/admin/traffic", content=b"{}",
             headers={"authorization": "Bearer anything", "content-type": "application/json"})
    assert r.status_code == 403 and "disabled" in r.json()["detail"]


def test_the_router_app_answers_from_its_server_object(tmp_path: Path) -> None:
    """Probes and admin read the Router's state: before its start nothing is checked."""
    app = router(tmp_path, "s3cret")
    assert app.state.router.store is app.state.store
    r = call(app, "GET", "/readyz")
    assert r.status_code == 503
    assert r.json()["upstreams"]["preprocess"] == "not checked yet"
    traffic = call(app, "GET", "/admin/traffic").json()
    assert traffic["generation"] == 1 and traffic["writable"] is True
    assert traffic["upstreams"]["blue"]["ready"] is False


def test_a_policy_naming_a_version_no_inference_serves_is_refused(tmp_path: Path) -> None:
    """A PUT that would route quotes to a version nobody serves is a 409 naming it, and
    the file keeps the running policy; a color never reached cannot say, so no refusal."""
    app = router(tmp_path, "s3cret")
    headers = {"authorization": "Bearer s3cret", "content-type": "application/json"}
    ahead = {"blue": {"version": "1"}, "tariffs": [
        {"effective": "2027-01-01", "blue": {"version": "3"}}]}
    app.state.router.upstreams.health["blue"].versions = frozenset({"1"})
    for policy, named in (({"blue": {"version": "7"}}, "the current tariff names blue "
                           "version 7, which inference-blue does not serve (it pins 1)"),
                          (ahead, "the tariff from 2027-01-01T00:00:00+00:00 names blue "
                           "version 3")):
        r = call(app, "PUT", "/admin/traffic", content=json.dumps(policy), headers=headers)
        assert r.status_code == 409 and named in r.json()["detail"], r.text
        assert (tmp_path / "policy.yaml").read_text() == POLICY
    app.state.router.upstreams.health["blue"].versions = frozenset({"1", "3"})
    r = call(app, "PUT", "/admin/traffic", content=json.dumps(ahead), headers=headers)
    assert r.status_code == 200, r.text
    app.state.router.upstreams.health["blue"].versions = frozenset()  # never reached
    r = call(app, "PUT", "/admin/traffic", content=b'{"blue": {"version": "9"}}',
             headers=headers)
    assert r.status_code == 200, r.text
