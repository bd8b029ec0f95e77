"""Properties of the rendered objects that schemas cannot see, for every scenario.

Rendered with the real Helm engine; no cluster ran.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from quoteflow.products.motor.contract import QuoteRequest
from quoteflow.traffic.document import parse_document
from tests.chart.chartlib import (
    CHART,
    FULLNAME,
    SCENARIOS,
    Rendered,
    label_selector_matches,
    pod_labels,
    pod_spec,
    render_scenario,
    selects,
)

ALL = list(SCENARIOS)
WORKLOADS = ("Deployment", "CronJob", "Pod")


def containers(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    spec = pod_spec(obj) or {}
    return [("init", c) for c in spec.get("initContainers", [])] + \
           [("main", c) for c in spec.get("containers", [])]


def products_of(r: Rendered) -> list[tuple[str, str, dict[str, Any]]]:
    """(model, object-name prefix, its values: colors, traffic) of every product served:
    the first from inference.* and traffic, then each enabled entry of `products`."""
    out = [(r.values["inference"]["modelName"], "",
            {"colors": r.values["inference"]["colors"], "traffic": r.values["traffic"]})]
    out += [(m, f"{m}-", p) for m, p in (r.values.get("products") or {}).items()
            if p["enabled"]]
    return out


def inference_deployments(r: Rendered, model: str | None = None) -> dict[str, dict[str, Any]]:
    """One product's inference Deployments by color (default: the first product's)."""
    model = model or r.values["inference"]["modelName"]
    return {d["metadata"]["labels"]["quoteflow.io/color"]: d for d in r.of_kind("Deployment")
            if d["metadata"]["labels"]["app.kubernetes.io/component"] == "inference"
            and d["metadata"]["labels"]["quoteflow.io/model"] == model}


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.mark.parametrize("scenario", ALL)
def test_every_container_is_bounded_and_hardened(scenario: str) -> None:
    r = render_scenario(scenario)
    checked = 0
    for obj in r.objects:
        if obj["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        assert spec is not None
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True and psc["runAsUser"] != 0, where
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", where
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        for role, c in containers(obj):
            name = f"{where} {role} container {c['name']}"
            res = c["resources"]
            assert {"cpu", "memory"} <= set(res["limits"]), name
            assert {"cpu", "memory"} <= set(res["requests"]), name
            sc = c["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], name
            assert not sc.get("privileged"), name
            assert not c["image"].endswith(":latest") and ":" in c["image"], name
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{name}: mounts undeclared volume {m['name']}"
            checked += 1
    assert checked >= 5


@pytest.mark.parametrize("scenario", ALL)
def test_every_serving_container_has_probes_and_a_writable_tmp(scenario: str) -> None:
    r = render_scenario(scenario)
    for dep in r.of_kind("Deployment"):
        spec = pod_spec(dep)
        assert spec is not None
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            name = f"{dep['metadata']['name']}/{c['name']}"
            ports = {p["name"] for p in c["ports"]}
            for probe, path in [("livenessProbe", "/healthz"), ("startupProbe", "/healthz"),
                                ("readinessProbe", "/readyz")]:
                get = c[probe]["httpGet"]
                assert get["path"] == path and get["port"] in ports, f"{name} {probe}"
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{name}: no emptyDir /tmp"
            component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
            # the desk is its own command group (`quoteflow desk serve`)
            assert c["command"] in (["quoteflow", "serve", component],
                                    ["quoteflow", component, "serve"]), c["command"]
            env = env_of(c)
            prefix = f"QUOTEFLOW_{component.upper()}_"
            assert env[prefix + "HOST"] == "0.0.0.0" and env[prefix + "PORT"] == "8080"
            assert {"name": "http", "containerPort": 8080, "protocol": "TCP"} in c["ports"]


@pytest.mark.parametrize("scenario", ALL)
def test_every_service_selects_pods_that_exist(scenario: str) -> None:
    r = render_scenario(scenario)
    deployments = r.of_kind("Deployment")
    for svc in r.of_kind("Service"):
        sel = svc["spec"]["selector"]
        matched = [d for d in deployments if selects(sel, pod_labels(d))]
        assert len(matched) == 1, f"Service {svc['metadata']['name']} selects {len(matched)}"
        port_names = {p["name"] for c in pod_spec(matched[0])["containers"]  # type: ignore[index]
                      for p in c["ports"]}
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in port_names
    # and every Deployment is reachable through exactly one Service
    for d in deployments:
        assert sum(selects(s["spec"]["selector"], pod_labels(d))
                   for s in r.of_kind("Service")) == 1, d["metadata"]["name"]
        # a Deployment's selector must match its own pod template (the API server refuses
        # otherwise) and no other Deployment's pods (colors never share pods)
        for other in deployments:
            hit = selects(d["spec"]["selector"]["matchLabels"], pod_labels(other))
            assert hit == (other is d), (d["metadata"]["name"], other["metadata"]["name"])


@pytest.mark.parametrize("scenario", ALL)
def test_blue_and_green_differ_only_in_color_version_and_replicas(scenario: str) -> None:
    r = render_scenario(scenario)
    for model, prefix, values in products_of(r):
        _blue_and_green_alike(r, model, prefix, values["colors"])


def _blue_and_green_alike(r: Rendered, model: str, prefix: str,
                          color_values: dict[str, Any]) -> None:
    colors = inference_deployments(r, model)
    green_enabled = color_values["green"]["enabled"]
    assert set(colors) == ({"blue", "green"} if green_enabled else {"blue"})
    if not green_enabled:
        assert not any(o["metadata"]["name"].startswith(f"{FULLNAME}-{prefix}inference-green")
                       for o in r.objects)
        return
    versions = {c: color_values[c]["version"] for c in colors}

    def normalise(node: Any, color: str) -> Any:
        # the version only where a version belongs: the label and the *MODEL_VERSION env
        # (and the versions pinned for scheduled tariffs, *EXTRA_VERSIONS)
        if isinstance(node, dict):
            if str(node.get("name", "")).endswith(("MODEL_VERSION", "EXTRA_VERSIONS")) and \
                    "value" in node:
                node = {**node, "value": "<version>"}
            if "quoteflow.io/model-version" in node:
                node = {**node, "quoteflow.io/model-version": "<version>"}
            return {k: normalise(v, color) for k, v in node.items() if k != "replicas"}
        if isinstance(node, list):
            return [normalise(v, color) for v in node]
        if isinstance(node, str):
            return re.sub(rf"\b{color}\b", "<color>", node)
        return node

    blue, green = (normalise(colors[c], c) for c in ("blue", "green"))
    assert blue == green, "blue and green Deployments differ beyond color/version/replicas"
    # and the differences that remain are the intended ones
    for c, d in colors.items():
        env = env_of(pod_spec(d)["containers"][0])  # type: ignore[index]
        assert env["QUOTEFLOW_INFERENCE_MODEL_VERSION"] == str(versions[c])
        assert env["QUOTEFLOW_INFERENCE_MODEL_NAME"] == model
        assert d["metadata"]["name"] == f"{FULLNAME}-{prefix}inference-{c}"
        assert d["metadata"]["labels"]["quoteflow.io/color"] == c
        assert d["spec"]["selector"]["matchLabels"]["quoteflow.io/color"] == c
        assert d["spec"]["selector"]["matchLabels"]["quoteflow.io/model"] == model
        if not r.values["inference"]["autoscaling"]["enabled"]:
            assert d["spec"]["replicas"] == color_values[c]["replicas"]
        else:
            assert "replicas" not in d["spec"]  # the HPA owns it


@pytest.mark.parametrize("scenario", ALL)
def test_router_role_grants_only_its_configmap(scenario: str) -> None:
    r = render_scenario(scenario)
    assert not r.of_kind("ClusterRole") and not r.of_kind("ClusterRoleBinding")
    policy_cm = f"{FULLNAME}-traffic-policy"
    r.get("ConfigMap", policy_cm)
    (role,) = r.of_kind("Role")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["configmaps"],
                              "resourceNames": [policy_cm], "verbs": ["get", "list", "watch"]}]
    (binding,) = r.of_kind("RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    (sa,) = r.of_kind("ServiceAccount")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                    "namespace": "quoteflow"}]
    # only the router gets the token, and the router watches exactly that ConfigMap
    for obj in r.objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        is_router = obj["kind"] == "Deployment" and obj["metadata"]["name"].endswith("-router")
        assert spec.get("automountServiceAccountToken") is is_router, obj["metadata"]["name"]
        if is_router:
            assert spec["serviceAccountName"] == sa["metadata"]["name"]
            env = env_of(spec["containers"][0])
            assert env["QUOTEFLOW_ROUTER_K8S_CONFIGMAP"] == policy_cm
            assert env["QUOTEFLOW_ROUTER_K8S_KEY"] == "policy.yaml"
            assert env["QUOTEFLOW_ROUTER_K8S_NAMESPACE"] == {
                "fieldRef": {"fieldPath": "metadata.namespace"}}


@pytest.mark.parametrize("scenario", ALL)
def test_policy_configmap_is_a_valid_policy_matching_the_pods(scenario: str) -> None:
    """The real router parser accepts the rendered policy, a section per product;
    versions match each product's pods; each router runs its section."""
    r = render_scenario(scenario)
    cm = r.get("ConfigMap", f"{FULLNAME}-traffic-policy")
    doc = parse_document(cm["data"]["policy.yaml"], "rendered ConfigMap")
    assert doc.models == sorted(m for m, _, _ in products_of(r))
    for model, prefix, values in products_of(r):
        policy = doc.section(model)
        assert policy.green_weight == values["traffic"]["greenWeight"]
        assert policy.shadow.enabled == values["traffic"]["shadow"]["enabled"]
        colors = inference_deployments(r, model)
        for c, d in colors.items():
            env = env_of(pod_spec(d)["containers"][0])  # type: ignore[index]
            assert policy.version_of(c) == env["QUOTEFLOW_INFERENCE_MODEL_VERSION"]
        if "green" not in colors:
            assert policy.green is None
        router = r.get("Deployment", f"{FULLNAME}-{prefix}router")
        _router_is_wired(r, router, model, prefix, colors, cm)


def _router_is_wired(r: Rendered, router: dict[str, Any], model: str, prefix: str,
                     colors: dict[str, Any], cm: dict[str, Any]) -> None:
    """The router is told where preprocess and each enabled color of ITS product live,
    and nothing else; it runs its model's section from the watched, mounted ConfigMap."""
    env = env_of(pod_spec(router)["containers"][0])  # type: ignore[index]
    assert env["QUOTEFLOW_ROUTER_MODEL_NAME"] == model  # the section it runs
    if prefix:  # a further product: the router serves that product's public path
        assert env["QUOTEFLOW_ROUTER_PRODUCT"] == r.values["products"][model].get(
            "product", model)
    services = {s["metadata"]["name"] for s in r.of_kind("Service")}
    urls = {k: v for k, v in env.items() if k.endswith("_URL") and "LEDGER" not in k}
    assert set(urls) == {"QUOTEFLOW_ROUTER_PREPROCESS_URL"} | {
        f"QUOTEFLOW_ROUTER_{c.upper()}_URL" for c in colors}
    for key, url in urls.items():
        host, port = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", url).groups()  # type: ignore[union-attr]
        assert host in services and port == "8080"
        if key != "QUOTEFLOW_ROUTER_PREPROCESS_URL":
            assert host.startswith(f"{FULLNAME}-{prefix}inference-"), (model, host)
    # the file fallback is the same ConfigMap, mounted
    mounts = {m["name"]: m for m in pod_spec(router)["containers"][0]["volumeMounts"]}  # type: ignore[index]
    assert env["QUOTEFLOW_ROUTER_POLICY_FILE"] == mounts["policy"]["mountPath"] + "/policy.yaml"
    vols = {v["name"]: v for v in pod_spec(router)["volumes"]}  # type: ignore[index]
    assert vols["policy"]["configMap"]["name"] == cm["metadata"]["name"]
    assert env["QUOTEFLOW_ROUTER_ADMIN_TOKEN_FILE"].startswith(
        mounts["admin-token"]["mountPath"] + "/")


@pytest.mark.parametrize("scenario", ALL)
def test_only_the_router_reaches_preprocess_and_inference(scenario: str) -> None:
    r = render_scenario(scenario)
    policies = r.of_kind("NetworkPolicy")
    backends = [d for d in r.of_kind("Deployment")
                if d["metadata"]["labels"]["app.kubernetes.io/component"]
                in ("preprocess", "inference")]
    routers = [d for d in r.of_kind("Deployment")
               if d["metadata"]["labels"]["app.kubernetes.io/component"] == "router"]
    assert len(routers) == len(products_of(r))
    router = r.get("Deployment", f"{FULLNAME}-router")
    scrapers = r.values["networkPolicy"]["metricsFrom"]
    for d in backends:
        applying = [p for p in policies
                    if label_selector_matches(p["spec"]["podSelector"], pod_labels(d))]
        assert len(applying) == 1, d["metadata"]["name"]
        (np,) = applying
        assert np["spec"]["policyTypes"] == ["Ingress"]
        peers = [peer for rule in np["spec"]["ingress"] for peer in rule["from"]]
        # every product's router (the peer names no model), nothing more
        assert peers[0] == {"podSelector": {"matchLabels": {
            k: v for k, v in pod_labels(router).items()
            if k in router["spec"]["selector"]["matchLabels"] and k != "quoteflow.io/model"}}}
        assert all(label_selector_matches(peers[0]["podSelector"], pod_labels(x))
                   for x in routers)
        assert peers[1:] == scrapers  # nothing else, unless a metrics scraper is configured
        router_rule, *scraper_rules = np["spec"]["ingress"]
        assert router_rule["ports"] == [{"port": "http", "protocol": "TCP"}]
        metrics_port = "admin" if r.values["adminPort"] else "http"
        for rule in scraper_rules:
            assert rule["ports"] == [{"port": metrics_port, "protocol": "TCP"}]
        # the router peer selects the router's pods and no backend pod
        assert label_selector_matches(peers[0]["podSelector"], pod_labels(router))
        assert not any(label_selector_matches(peers[0]["podSelector"], pod_labels(b))
                       for b in backends)


@pytest.mark.parametrize("scenario", ALL)
def test_admin_port_carries_admin_and_metrics_only(scenario: str) -> None:
    """With adminPort, every pod serves its admin API and /metrics there (the setting
    `quoteflow serve` reads), every Service exposes it, Prometheus scrapes it, and the
    router's NetworkPolicy opens it to the listed operators and scrapers only."""
    r = render_scenario(scenario)
    admin = r.values["adminPort"]
    for dep in r.of_kind("Deployment"):
        (c,) = pod_spec(dep)["containers"]  # type: ignore[index]
        component = dep["metadata"]["labels"]["app.kubernetes.io/component"]
        env = env_of(c)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        if component == "desk":  # a web app for people: no admin API, no metrics port
            assert ports == {"http": 8080}
            continue
        if admin:
            assert env[f"QUOTEFLOW_{component.upper()}_ADMIN_PORT"] == str(admin)
            assert ports == {"http": 8080, "admin": admin}
        else:
            assert not any(k.endswith("_ADMIN_PORT") for k in env)
            assert ports == {"http": 8080}
    for svc in r.of_kind("Service"):
        if svc["metadata"]["labels"]["app.kubernetes.io/component"] == "desk":
            continue
        names = {p["name"] for p in svc["spec"]["ports"]}
        assert names == ({"http", "admin"} if admin else {"http"}), svc["metadata"]["name"]
    for sm in r.of_kind("ServiceMonitor"):
        assert [e["port"] for e in sm["spec"]["endpoints"]] == ["admin" if admin else "http"]
    if not r.values["networkPolicy"]["enabled"]:
        return
    router_np = r.get("NetworkPolicy", f"{FULLNAME}-router")
    public, *restricted = router_np["spec"]["ingress"]
    assert public == {"ports": [{"port": "http", "protocol": "TCP"}]}  # from anywhere
    allowed = r.values["networkPolicy"]["adminFrom"] + r.values["networkPolicy"]["metricsFrom"]
    if admin and allowed:
        assert restricted == [{"from": allowed, "ports": [{"port": "admin", "protocol": "TCP"}]}]
    else:
        assert restricted == []  # no one, or (single port) the public rule covers it


@pytest.mark.parametrize("scenario", ALL)
def test_disruption_budgets_and_autoscalers_match_deployments(scenario: str) -> None:
    r = render_scenario(scenario)
    deployments = {d["metadata"]["name"]: d for d in r.of_kind("Deployment")}
    pdbs = r.of_kind("PodDisruptionBudget")
    for d in deployments.values():
        covering = [p for p in pdbs if label_selector_matches(p["spec"]["selector"], pod_labels(d))]
        assert len(covering) == 1, d["metadata"]["name"]
    for hpa in r.of_kind("HorizontalPodAutoscaler"):
        target = deployments[hpa["spec"]["scaleTargetRef"]["name"]]
        assert "replicas" not in target["spec"]
    hpa_targets = {h["spec"]["scaleTargetRef"]["name"]
                   for h in r.of_kind("HorizontalPodAutoscaler")}
    for name, d in deployments.items():
        assert ("replicas" in d["spec"]) != (name in hpa_targets), name


@pytest.mark.parametrize("scenario", ALL)
def test_models_reach_inference_through_the_init_container(scenario: str) -> None:
    r = render_scenario(scenario)
    source = r.values["models"]["source"]
    deployments = [(model, values, color, d) for model, _, values in products_of(r)
                   for color, d in inference_deployments(r, model).items()]
    for model, values, color, d in deployments:
        spec = pod_spec(d)
        assert spec is not None
        (init,) = spec["initContainers"]
        env = env_of(init)
        assert env["MODEL_VERSION"] == str(values["colors"][color]["version"])
        assert env["MODEL_NAME"] == model
        main = env_of(spec["containers"][0])
        assert main["QUOTEFLOW_INFERENCE_REGISTRY_DIR"] == "/models"
        assert {"name": "models", "mountPath": "/models", "readOnly": True} in \
            spec["containers"][0]["volumeMounts"]
        vols = {v["name"]: v for v in spec["volumes"]}
        if source == "image":
            assert init["image"].split(":")[0].endswith("models") and "store" not in vols
            assert env["STORE"] == "/registry"
        else:
            assert vols["store"]["persistentVolumeClaim"]["readOnly"] is True
            assert env["STORE"] == "/store"


@pytest.mark.parametrize("scenario", ALL)
def test_training_cronjob_registers_into_staging_only(scenario: str) -> None:
    r = render_scenario(scenario)
    jobs = r.of_kind("CronJob")
    if not r.values["training"]["enabled"]:
        assert jobs == []
        return
    (job,) = jobs
    (c,) = pod_spec(job)["containers"]  # type: ignore[index]
    cmd = c["command"]
    assert cmd[:2] == ["quoteflow", "train"] and cmd[cmd.index("--stage") + 1] == "Staging"
    assert "Production" not in json.dumps(job)
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    claim = pod_spec(job)["volumes"][0]["persistentVolumeClaim"]["claimName"]  # type: ignore[index]
    assert claim in {p["metadata"]["name"] for p in r.of_kind("PersistentVolumeClaim")} or \
        r.values["models"]["pvc"]["claimName"] == claim


@pytest.mark.parametrize("scenario", ALL)
def test_helm_test_sends_a_valid_quote_to_the_router(scenario: str) -> None:
    r = render_scenario(scenario)
    (pod,) = r.of_kind("Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (c,) = pod["spec"]["containers"]
    script = c["command"][-1]
    compile(script, "helm-test", "exec")  # the test pod's Python is at least valid
    body = re.search(r"body = (\{.*?\})\n", script, re.S).group(1)  # type: ignore[union-attr]
    QuoteRequest.model_validate(eval(body))  # the wire contract accepts it
    assert '"/v1/quote"' in script and 'method="POST"' in script
    url = env_of(c)["ROUTER_URL"]
    svc = r.get("Service", f"{FULLNAME}-router")
    assert url == f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"


@pytest.mark.parametrize("scenario", ALL)
def test_monitoring_objects_follow_their_flags_and_files(scenario: str) -> None:
    r = render_scenario(scenario)
    mon = r.values["monitoring"]
    rule_files = sorted((CHART / "files" / "rules").glob("*.yaml"))
    dashboards = sorted((CHART / "files" / "dashboards").glob("*.json"))
    monitors = r.of_kind("ServiceMonitor")
    assert len(monitors) == int(mon["serviceMonitor"]["enabled"])
    for sm in monitors:
        for svc in r.of_kind("Service"):  # every quoteflow Service is scraped
            assert selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
            assert "http" in {p["name"] for p in svc["spec"]["ports"]}
    rules = r.of_kind("PrometheusRule")
    expected_groups = [g for f in rule_files for g in (yaml.safe_load(f.read_text()) or {})
                       .get("groups", [])]
    if mon["prometheusRule"]["enabled"] and expected_groups:
        (rule,) = rules
        assert rule["spec"]["groups"] == expected_groups  # verbatim, no template mangling
    else:
        assert rules == []
    cms = [c for c in r.of_kind("ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard")]
    assert len(cms) == (len(dashboards) if mon["dashboards"]["enabled"] else 0)
    for cm, path in zip(cms, dashboards, strict=False):
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert json.loads(cm["data"][path.name]) == json.loads(path.read_text())


def test_scenarios_cover_what_the_issue_asks() -> None:
    def v(name: str) -> dict[str, Any]:
        return render_scenario(name).values

    assert v("green-off")["inference"]["colors"]["green"]["enabled"] is False
    assert v("green-10")["traffic"]["greenWeight"] == 10
    assert v("shadow")["traffic"]["shadow"]["enabled"] is True
    assert v("monitoring")["monitoring"]["serviceMonitor"]["enabled"] is True
    assert v("production")["training"]["enabled"] is True
    assert v("claims")["products"]["claims"]["enabled"] is True  # both products deployed
    assert Path(CHART / "values.yaml").read_text().splitlines()[0] == \
        "# yaml-language-server: $schema=values.schema.json"


@pytest.mark.parametrize("scenario", ALL)
def test_the_ledger_is_durable_and_single_writer_on_sqlite(scenario: str) -> None:
    """PostgreSQL from a Secret, or SQLite on a kept ReadWriteOnce volume with one router
    that is recreated, never surged (two writers on one SQLite file)."""
    r = render_scenario(scenario)
    ledger = r.values["router"]["ledger"]
    router = r.get("Deployment", f"{FULLNAME}-router")
    spec = pod_spec(router)
    env = env_of(spec["containers"][0])  # type: ignore[index]
    claims = {o["metadata"]["name"]: o for o in r.of_kind("PersistentVolumeClaim")}
    if ledger["postgresql"]["existingSecret"]:
        ref = env["QUOTEFLOW_ROUTER_LEDGER__URL"]["secretKeyRef"]
        assert ref == {"name": ledger["postgresql"]["existingSecret"],
                       "key": ledger["postgresql"]["key"]}
        assert f"{FULLNAME}-ledger" not in claims
        assert router["spec"]["strategy"]["type"] == "RollingUpdate"
    else:
        mounts = {m["name"]: m["mountPath"]
                  for m in spec["containers"][0]["volumeMounts"]}  # type: ignore[index]
        path = env["QUOTEFLOW_ROUTER_LEDGER__URL"].removeprefix("sqlite:///")
        assert path.startswith(mounts["ledger"] + "/")
        volumes = {v["name"]: v for v in spec["volumes"]}  # type: ignore[index]
        assert volumes["ledger"]["persistentVolumeClaim"]["claimName"] == f"{FULLNAME}-ledger"
        pvc = claims[f"{FULLNAME}-ledger"]
        assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
        assert pvc["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert router["spec"]["strategy"]["type"] == "Recreate"
        assert router["spec"].get("replicas") == 1
