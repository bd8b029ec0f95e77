"""Security posture, checked on running processes where it can be: the admin token,
writes disabled without one, the token read from a mounted file and never echoed,
admin and metrics on their own port; and, by reading the code, no pickle anywhere.
"""

from __future__ import annotations

import ast
import json
import urllib.error
import urllib.request
from pathlib import Path

from quoteflow.local.stack import Stack, StackConfig, free_port
from tests.e2e.helpers import TOKEN, get_json, make_stack, quote_body

SERVICES = Path(__file__).resolve().parents[2] / "services"
POLICY = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 25}


def call(url: str, method: str = "GET", body: object = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def bare_stack(registry: Path, workdir: Path, env: dict[str, dict[str, str]]) -> Stack:
    """A stack whose router gets no admin token from the test harness."""
    return Stack(StackConfig(registry_dir=registry, workdir=workdir, blue_version="1",
                             green_version="2", admin_token=None, env=env))


def test_admin_writes_need_the_bearer_token(trained_registry: Path, tmp_path: Path) -> None:
    with make_stack(trained_registry, tmp_path) as st:
        url = st.config.url("router")
        generation = get_json(url + "/admin/traffic")["generation"]
        refused = {
            "no header": {},
            "wrong token": {"authorization": "Bearer not-the-token"},
            "token prefix": {"authorization": f"Bearer {TOKEN[:-1]}"},
            "token plus": {"authorization": f"Bearer {TOKEN}x"},
            "basic scheme": {"authorization": f"Basic {TOKEN}"},
            "no scheme": {"authorization": TOKEN},
        }
        for why, headers in refused.items():
            for method, path, body in (("PUT", "/admin/traffic", POLICY),
                                       ("POST", "/admin/traffic/kill", None)):
                status, got, answer = call(url + path, method, body, headers)
                assert status == 401, (why, path, status, answer)
                assert got.get("www-authenticate") == "Bearer", (why, got)
                assert TOKEN.encode() not in answer
        assert get_json(url + "/admin/traffic")["generation"] == generation  # nothing moved
        status, _, _ = call(url + "/admin/traffic", "PUT", POLICY,
                            {"authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert get_json(url + "/admin/traffic")["generation"] == generation + 1


def test_no_token_configured_means_writes_disabled(trained_registry: Path,
                                                   tmp_path: Path) -> None:
    with bare_stack(trained_registry, tmp_path, {}) as st:
        url = st.config.url("router")
        assert call(url + "/admin/traffic")[0] == 200  # reading stays open
        for headers in ({}, {"authorization": "Bearer anything"}):
            status, _, answer = call(url + "/admin/traffic", "PUT", POLICY, headers)
            assert status == 403, answer
            assert b"no admin token is configured" in answer
            assert call(url + "/admin/traffic/kill", "POST", None, headers)[0] == 403


def test_token_from_a_mounted_file_is_never_echoed(trained_registry: Path,
                                                   tmp_path: Path) -> None:
    secret = "s3cr3t-from-a-kubernetes-secret-volume"
    token_file = tmp_path / "admin-token"
    token_file.write_text(secret + "\n")  # as `kubectl create secret` files often end
    token_file.chmod(0o600)
    env = {"router": {"QUOTEFLOW_ROUTER_ADMIN_TOKEN_FILE": str(token_file),
                      "QUOTEFLOW_LOG_LEVEL": "DEBUG"}}
    with bare_stack(trained_registry, tmp_path / "stack", env) as st:
        url = st.config.url("router")
        status, _, _ = call(url + "/admin/traffic", "PUT", POLICY,
                            {"authorization": f"Bearer {secret}"})
        assert status == 200
        assert call(url + "/admin/traffic", "PUT", POLICY,
                    {"authorization": "Bearer wrong"})[0] == 401
        seen = b"".join(call(url + p)[2] for p in ("/admin/traffic", "/metrics", "/readyz",
                                                   "/openapi.json"))
        logs = sorted((tmp_path / "stack").glob("*.log"))
        assert secret.encode() not in seen
        assert any(f.name == "router.log" and f.stat().st_size > 0 for f in logs), logs
        assert all(secret not in f.read_text() for f in logs)


def test_admin_and_metrics_on_their_own_port(trained_registry: Path, tmp_path: Path) -> None:
    admin_port = free_port()
    st = make_stack(trained_registry, tmp_path,
                    env={"router": {"QUOTEFLOW_ROUTER_ADMIN_PORT": str(admin_port)}})
    with st:
        public = st.config.url("router")
        admin = f"http://127.0.0.1:{admin_port}"
        # public port: quotes and probes, no admin API, no metrics
        assert call(public + "/v1/quote", "POST", quote_body())[0] == 200
        assert call(public + "/healthz")[0] == 200
        for path in ("/admin/traffic", "/metrics"):
            assert call(public + path)[0] == 404, path
        assert call(public + "/admin/traffic", "PUT", POLICY,
                    {"authorization": f"Bearer {TOKEN}"})[0] == 404
        # admin port: admin API, metrics and probes, no quotes
        assert call(admin + "/admin/traffic")[0] == 200
        status, _, text = call(admin + "/metrics")
        assert status == 200 and b"quoteflow_quotes_total" in text
        assert call(admin + "/readyz")[0] == 200
        assert call(admin + "/v1/quote", "POST", quote_body())[0] == 404
        assert call(admin + "/admin/traffic", "PUT", POLICY,
                    {"authorization": f"Bearer {TOKEN}"})[0] == 200


# modules that execute code while loading data: never in anything that serves
UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "joblib", "cloudpickle", "dill", "shelve",
                  "marshal", "skops"}


def test_no_pickle_anywhere_in_the_services() -> None:
    """Every module under services/ parsed: no unsafe deserialiser imported, no
    numpy/pandas call asked to unpickle, and the admin token compared with
    hmac.compare_digest (constant time; timing is not measured in tests here)."""
    found: list[str] = []
    files = sorted(SERVICES.rglob("*.py"))
    for f in files:
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            found += [f"{f}:{node.lineno} imports {n}" for n in names
                      if n.split(".")[0] in UNSAFE_MODULES]
            if isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and not (
                            isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        found.append(f"{f}:{node.lineno} allow_pickle")
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in {"read_pickle",
                                                                     "to_pickle"}:
                    found.append(f"{f}:{node.lineno} {func.attr}")
    assert len(files) > 30, files  # the scan really read the code
    assert not found, found
    admin = (SERVICES / "quoteflow" / "router" / "admin.py").read_text()
    assert "hmac.compare_digest(" in admin


def test_registry_holds_only_data_formats(trained_registry: Path) -> None:
    """What inference loads is ONNX and JSON; nothing executable or pickled is written."""
    files = [p for p in trained_registry.rglob("*") if p.is_file()]
    locks = [p for p in files if p.name == ".lock"]  # flock targets, always empty
    assert all(p.stat().st_size == 0 for p in locks)
    suffixes = {p.suffix for p in files if p not in locks}
    assert ".onnx" in suffixes and ".json" in suffixes
    assert suffixes <= {".onnx", ".json", ".md", ".png"}, suffixes
