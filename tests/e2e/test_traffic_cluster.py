"""`quoteflow traffic --kube` against a stand-in Kubernetes API server.

No real cluster runs here. tests/standin_k8s.py plays the API server on 127.0.0.1:
it serves the policy ConfigMap (get, patch with resourceVersion, list/watch), lists
the router pods and proxies to them, all over the real Kubernetes HTTP protocol. The
two routers are real `quoteflow serve router` processes whose ConfigMap watch talks
to that stand-in through the official kubernetes client, as they would in a pod.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from quoteflow.local.stack import Stack, free_port
from tests.e2e.helpers import get_json, make_stack, post_quotes, put_policy, quote_body, run
from tests.standin_k8s import StandInAPI

NS, CM = "quoteflow", "quoteflow-traffic-policy"
# the stand-in API, the kubeconfig, the routers' admin URLs, their public URLs
Cluster = tuple[StandInAPI, Path, list[str], list[str]]
POLICY = {"blue": {"version": "1"}, "green": {"version": "2"}, "green_weight": 10,
          "shadow": {"enabled": False, "sample": 1.0}}


def kubeconfig(path: Path, server: str) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "standin",
        "clusters": [{"name": "standin", "cluster": {"server": server}}],
        "users": [{"name": "sre", "user": {"token": "standin-token"}}],
        "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "sre",
                                                     "namespace": NS}}]}))
    return path


@pytest.fixture
def cluster(trained_registry: Path, tmp_path: Path) -> Iterator[Cluster]:
    with StandInAPI() as api:
        api.put(NS, CM, {"policy.yaml": yaml.safe_dump(POLICY)})
        kcfg = kubeconfig(tmp_path / "kubeconfig", api.url)
        k8s_env = {"KUBECONFIG": str(kcfg), "QUOTEFLOW_ROUTER_K8S_CONFIGMAP": CM,
                   "QUOTEFLOW_ROUTER_K8S_NAMESPACE": NS}
        # as the chart runs them: the admin API on its own port (adminPort)
        admin_ports = [free_port(), free_port()]
        st: Stack = make_stack(trained_registry, tmp_path / "stack", green_weight=10, env={
            "router": {**k8s_env, "QUOTEFLOW_ROUTER_ADMIN_PORT": str(admin_ports[0])}})
        with st:
            # a second router replica: same settings, its own ports
            cmd, env = st.command("router")
            port = free_port()
            env["QUOTEFLOW_ROUTER_PORT"] = str(port)
            env["QUOTEFLOW_ROUTER_ADMIN_PORT"] = str(admin_ports[1])
            log = (tmp_path / "router-1.log").open("ab")
            second = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
            st.procs["router-1"] = second
            st.config.ports["router-1"] = port
            st.wait_ready("router-1")
            public = [st.config.url("router"), st.config.url("router-1")]
            urls = [f"http://127.0.0.1:{p}" for p in admin_ports]
            for i, (pub, adm) in enumerate(zip(public, urls, strict=True)):
                # the pod proxy reaches each port as in a pod: 8080 API, 9090 admin
                api.add_pod(NS, f"quoteflow-router-{i}",
                            {"app.kubernetes.io/component": "router"}, pub,
                            ports={"http": (8080, pub), "admin": (9090, adm)})
            try:
                yield api, kcfg, urls, public
            finally:
                second.terminate()
                second.wait(10)


def traffic(kcfg: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECONFIG": str(kcfg)}
    return subprocess.run([sys.executable, "-m", "quoteflow.cli", "traffic", *args, "--kube",
                           "--namespace", NS], env=env, capture_output=True, text=True,
                          timeout=60)


def test_cluster_change_reaches_every_router_and_kill_switch(
        cluster: Cluster) -> None:
    api, kcfg, urls, public = cluster
    result = traffic(kcfg, "set", "--green", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all 2 router(s) run it" in result.stdout, result.stdout
    views = [get_json(u + "/admin/traffic") for u in urls]
    assert [v["policy"]["green_weight"] for v in views] == [30, 30]
    assert views[0]["generation"] == views[1]["generation"]
    assert any(r["method"] == "PATCH" for r in api.requests)

    killed = traffic(kcfg, "kill")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    print(killed.stdout)  # says how long every replica took to switch
    views = [get_json(u + "/admin/traffic") for u in urls]
    assert all(v["policy"]["green_weight"] == 0 and not v["policy"]["shadow"]["enabled"]
               for v in views)
    answers = run(post_quotes(public[1], (quote_body(customer_key=f"c{i}") for i in range(200))))
    assert {a.body["model"]["color"] for a in answers} == {"blue"}

    shown = traffic(kcfg, "show")
    assert "0% of live traffic" in shown.stdout
    assert shown.stdout.count(f"generation {views[0]['generation']}") == 2


def test_router_refuses_admin_writes_when_the_configmap_rules(
        cluster: Cluster) -> None:
    _, _, urls, _ = cluster
    status, body = put_policy(urls[0], POLICY)
    assert status == 409 and "ConfigMap" in body["detail"]


@pytest.mark.expect_log_errors(r"^router: traffic policy refused")
def test_invalid_configmap_change_is_refused_and_reported(
        cluster: Cluster) -> None:
    api, kcfg, urls, _ = cluster
    before = get_json(urls[0] + "/admin/traffic")
    api.put(NS, CM, {"policy.yaml": "blue: {version: '1'}\ngreen_weight: 300\n"})
    result = traffic(kcfg, "set", "--green", "20")
    assert result.returncode != 0
    assert "green_weight" in result.stderr
    assert get_json(urls[0] + "/admin/traffic")["generation"] == before["generation"]


@pytest.fixture
def two_models(trained_registry: Path, claims_registry: Path, tmp_path: Path
               ) -> Iterator[tuple[StandInAPI, Path, dict[str, str]]]:
    """A motor and a claims router watching one sectioned ConfigMap, as pods."""
    claims = {"blue": {"version": "1"}, "green": {"version": "2"},
              "shadow": {"enabled": True, "sample": 1.0}}
    with StandInAPI() as api:
        api.put(NS, CM, {"policy.yaml": yaml.safe_dump({"models": {"motor": POLICY,
                                                                   "claims": claims}})})
        kcfg = kubeconfig(tmp_path / "kubeconfig", api.url)
        admin: dict[str, str] = {}
        stacks = []
        for model, registry in (("motor", trained_registry), ("claims", claims_registry)):
            port = free_port()
            admin[model] = f"http://127.0.0.1:{port}"
            stacks.append(make_stack(registry, tmp_path / model, model_name=model, env={
                "router": {"KUBECONFIG": str(kcfg), "QUOTEFLOW_ROUTER_K8S_CONFIGMAP": CM,
                           "QUOTEFLOW_ROUTER_K8S_NAMESPACE": NS,
                           "QUOTEFLOW_ROUTER_ADMIN_PORT": str(port)}}))
        with stacks[0], stacks[1]:
            for st, model in zip(stacks, admin, strict=True):
                pub = st.config.url("router")
                api.add_pod(NS, f"quoteflow-{model}-router-0",
                            {"app.kubernetes.io/component": "router"}, pub,
                            ports={"http": (8080, pub), "admin": (9090, admin[model])})
            yield api, kcfg, admin


def test_cluster_change_of_one_model_and_kill_of_all(
        two_models: tuple[StandInAPI, Path, dict[str, str]]) -> None:
    api, kcfg, admin = two_models
    motor_before = get_json(admin["motor"] + "/admin/traffic")
    result = traffic(kcfg, "set", "--model", "claims", "--green", "30")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "claims: generation" in result.stdout and "all 1 router(s)" in result.stdout
    claims = get_json(admin["claims"] + "/admin/traffic")
    assert claims["model"] == "claims" and claims["policy"]["green_weight"] == 30
    motor = get_json(admin["motor"] + "/admin/traffic")
    assert motor["generation"] == motor_before["generation"]  # not its section
    assert motor["policy"]["green_weight"] == 10

    killed = traffic(kcfg, "kill", "--model", "all")
    assert killed.returncode == 0, killed.stdout + killed.stderr
    for model, url in admin.items():
        policy = get_json(url + "/admin/traffic")["policy"]
        assert policy["green_weight"] == 0 and not policy["shadow"]["enabled"], model
    doc = yaml.safe_load(api.data(NS, CM)["policy.yaml"])
    assert set(doc["models"]) == {"motor", "claims"}
    assert all(s["green_weight"] == 0 for s in doc["models"].values())


def test_cluster_schedule_and_history_live_in_the_configmap(cluster: Cluster) -> None:
    api, kcfg, urls, _ = cluster
    done = traffic(kcfg, "schedule", "--effective", "2027-01-01T00:00:00+01:00", "--blue", "2",
                   "--actor", "ana", "--reason", "January's tariff")
    assert done.returncode == 0, done.stdout + done.stderr
    views = [get_json(u + "/admin/traffic") for u in urls]
    assert all(v["policy"]["tariffs"][0]["effective"] == "2026-12-31T23:00:00Z" for v in views)
    assert "from 2026-12-31T23:00:00Z: blue 2, green - at 0%" in traffic(kcfg, "show").stdout
    assert traffic(kcfg, "set", "--green", "5", "--actor", "bo").returncode == 0
    shown = traffic(kcfg, "history", "--json")
    entries = [yaml.safe_load(line) for line in shown.stdout.splitlines()]
    assert [(e["change"], e["actor"], e["reason"]) for e in entries] == [
        ("schedule", "ana", "January's tariff"), ("set", "bo", "")]
    assert entries[1]["generation"] == entries[0]["generation"] + 1
    assert "history.jsonl" in api.data(NS, CM)  # beside the policy, in the same object
