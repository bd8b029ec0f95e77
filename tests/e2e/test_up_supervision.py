"""`quoteflow up` serves every product and supervises: SIGKILL of motor's
inference-green under load costs no quote (the router fails over to Blue), Green is
started again and serves within seconds, claim triage answers beside it on its own
ports and policy section, the claims desk runs beside the triage router with the dev
accounts it printed, and Ctrl-C still stops every process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.drills.load import DrillLoad
from tests.e2e.helpers import claim_body, get_json, post_quotes, run

PORTS = 9  # two products, four services each, and the desk, on consecutive ports


def free_port_block() -> int:
    """A port p with p..p+8 free (`quoteflow up` puts the services on consecutive ports)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = int(s.getsockname()[1])
        if base + PORTS - 1 > 65535:
            continue
        try:
            for p in range(base, base + PORTS):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise RuntimeError(f"no {PORTS} consecutive free ports")


def ready_pid(url: str) -> int | None:
    try:
        body = get_json(url + "/readyz")
        return int(body["pid"]) if body.get("ready") else None
    except OSError:
        return None


def wait_until(check: object, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout:.0f}s")


def desk_logs_in(url: str, workdir: Path) -> None:
    """The desk's first users were made and stored (mode 600); the agent's password
    opens its claims list."""
    import re

    import httpx

    wait_until(lambda: _up(url), 60, "the desk ready")
    users_file = workdir / "desk-users.json"
    assert users_file.stat().st_mode & 0o777 == 0o600
    users = {u["role"]: u for u in json.loads(users_file.read_text())}
    assert set(users) == {"agent", "reviewer"}
    with httpx.Client(base_url=url, follow_redirects=True) as c:
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text)
        assert token
        r = c.post("/login", data={"username": users["agent"]["username"],
                                   "password": users["agent"]["password"],
                                   "csrf_token": token.group(1)})
        assert r.status_code == 200 and r.url.path == "/claims", (r.status_code, r.url)


def _up(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url + "/readyz", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def both_products(trained_registry: Path, claims_registry: Path, root: Path) -> Path:
    """One registry with both products' example models (copies: the session's stay)."""
    shutil.copytree(trained_registry / "motor", root / "motor")
    shutil.copytree(claims_registry / "claims", root / "claims")
    return root


def test_killed_green_costs_no_quote_and_comes_back(trained_registry: Path,
                                                   claims_registry: Path,
                                                   tmp_path: Path) -> None:
    port = free_port_block()
    router, green = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port + 3}"
    triage = f"http://127.0.0.1:{port + 4}"
    registry = both_products(trained_registry, claims_registry, tmp_path / "registry")
    out = (tmp_path / "up.out").open("w+b")
    env = {**os.environ, "QUOTEFLOW_CLI_ADMIN_TOKEN": "t"}
    up = subprocess.Popen([sys.executable, "-m", "quoteflow.cli", "up", "--registry",
                           str(registry), "--workdir", str(tmp_path / "run"),
                           "--port", str(port), "--green-weight", "50"],
                          stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          env=env)
    try:
        wait_until(lambda: ready_pid(router) and ready_pid(triage), 120, "quoteflow up ready")
        assert get_json(triage + "/admin/traffic")["model"] == "claims"
        desk_logs_in(f"http://127.0.0.1:{port + 8}", tmp_path / "run" / "desk")
        triaged = run(post_quotes(triage, [claim_body(i) for i in range(10)],
                                  path="/v1/claims/triage"))
        assert {a.status for a in triaged} == {200}, triaged[:2]
        policy = yaml.safe_load((tmp_path / "run" / "policy.yaml").read_text())
        assert set(policy["models"]) == {"motor", "claims"}
        routers = json.loads((tmp_path / "run" / "routers.json").read_text())
        assert routers == {"motor": router, "claims": triage}
        first_green = ready_pid(green)
        assert first_green is not None
        with DrillLoad(router, rate=100) as load:
            time.sleep(1.5)
            killed_at = time.monotonic()
            os.kill(first_green, signal.SIGKILL)
            back_after = wait_until(lambda: ready_pid(green) not in (None, first_green), 15,
                                    "a new inference-green ready")
            time.sleep(2.0)  # the router's health poll brings Green back into the split
        assert not load.failed, load.failed[:3]
        after = [s for s in load.sent if s.at > killed_at + back_after + 1.5]
        before = [s for s in load.sent if s.at < killed_at]
        assert any(s.color == "green" for s in before), "Green took no traffic before"
        assert any(s.color == "green" for s in after), "Green took no traffic once back"
        print(f"inference-green ready again {back_after:.1f} s after SIGKILL; "
              f"{len(load.sent)} quotes, none failed")
    finally:
        up.send_signal(signal.SIGINT)
        rc = up.wait(30)
        out.seek(0)
        said = out.read().decode(errors="replace")
    assert rc == 0, said
    assert "[motor] inference-green exited (killed by SIGKILL); the others keep serving" \
        in said, said
    assert "inference-green restarted" in said and "inference-green is ready again" in said
    assert "/v1/claims/triage" in said and "/v1/quote" in said  # a curl for each product
    assert f"claims desk: http://127.0.0.1:{port + 8}" in said and "agent    agent / " in said
    assert said.rstrip().endswith("stopped."), said
    for p in range(port, port + PORTS):  # no process listens any more
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
            s.bind(("127.0.0.1", p))
