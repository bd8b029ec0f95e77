"""Where a model's traffic policy lives and how to confirm every router runs it.

A target is bound to one model: it reads and writes that model's section of the
document and waits only for the routers that serve that model (each router's
``GET /admin/traffic`` names its model; a router from before sections serves motor).

- Local: the routers' admin API (the router writes its section of the policy file;
  other local routers sharing the file hot-reload it).
- Cluster: the policy ConfigMap, patched through the Kubernetes API with the
  official client (optimistic concurrency on resourceVersion); every router pod of
  the model is then asked, through the API server's pod proxy, which generation it runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import urllib3
import yaml

from quoteflow.cli_options import ADMIN_TOKEN_ENV
from quoteflow.traffic import history
from quoteflow.traffic.document import parse_document
from quoteflow.traffic.history import Change
from quoteflow.traffic.policy import LEGACY_MODEL, Policy, parse_policy


class ControlError(RuntimeError):
    """A change could not be made or confirmed; the message says where and why."""


@dataclass
class Applied:
    policy: Policy
    generation: int
    seconds_to_converge: float
    replicas: dict[str, int]


class PolicyTarget(Protocol):
    model: str

    def read(self) -> tuple[Policy, int]: ...

    def write(self, policy: Policy, change: Change | None = None) -> int: ...

    def generations(self) -> dict[str, int]: ...

    def history(self) -> list[dict[str, Any]]: ...

    def models(self) -> list[str]: ...

    def for_model(self, model: str) -> PolicyTarget: ...


def model_of(view: dict[str, Any]) -> str:
    return str(view.get("model") or LEGACY_MODEL)


def apply_change(target: PolicyTarget, change: Callable[[Policy], Policy],
                 timeout: float = 10.0, why: Change | None = None) -> Applied:
    """Read, change, write (with who and why, kept in the policy's history), then wait
    until every router reports the new generation."""
    start = time.monotonic()
    current, _ = target.read()
    new = change(current)
    generation = target.write(new, why)
    deadline = start + timeout
    while True:
        seen = target.generations()
        if seen and all(g >= generation for g in seen.values()):
            return Applied(new, generation, time.monotonic() - start, seen)
        if time.monotonic() > deadline:
            behind = {k: g for k, g in seen.items() if g < generation}
            raise ControlError(f"policy generation {generation} written, but after {timeout:.0f}s "
                               f"these routers still run older ones: {behind or 'none found'}")
        time.sleep(0.02)


class LocalTarget:
    """Routers on this machine, through their admin API; only those of ``model`` count."""

    def __init__(self, router_urls: list[str], token: str | None,
                 model: str = LEGACY_MODEL) -> None:
        if not router_urls:
            raise ControlError("no router URL given")
        self.given = [u.rstrip("/") for u in router_urls]
        self.token = token
        self.model = model
        self.http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=3), retries=False)
        self._urls: list[str] | None = None

    @property
    def urls(self) -> list[str]:
        """The given routers that serve this model (asked once)."""
        if self._urls is None:
            served = self._served()
            self._urls = [u for u, m in served.items() if m == self.model]
            if not self._urls:
                raise ControlError(f"none of the routers serves model {self.model!r}: " +
                                   ", ".join(f"{u} {m if m.startswith('(') else 'serves ' + m}"
                                             for u, m in served.items()))
        return self._urls

    def _served(self) -> dict[str, str]:
        """Router -> the model it serves. One that does not answer is left out: another
        model's router being down must not stop this model's change (its kill above all)."""
        out = {}
        for u in self.given:
            try:
                out[u] = model_of(self._get(u))
            except ControlError as e:
                out[u] = f"(unreachable: {e})"
        return out

    def models(self) -> list[str]:
        return sorted({m for m in self._served().values() if not m.startswith("(")})

    def for_model(self, model: str) -> LocalTarget:
        return LocalTarget(self.given, self.token, model)

    def _get(self, url: str) -> dict[str, Any]:
        try:
            r = self.http.request("GET", url + "/admin/traffic")
        except urllib3.exceptions.HTTPError as e:
            raise ControlError(f"router {url} unreachable: {e}") from e
        if r.status != 200:
            raise ControlError(f"router {url} answered {r.status}: {r.data[:300]!r}")
        view: dict[str, Any] = json.loads(r.data)  # the router's /admin/traffic object
        return view

    def read(self) -> tuple[Policy, int]:
        view = self._get(self.urls[0])
        return parse_policy(view["policy"], self.urls[0]), int(view["generation"])

    def view(self) -> dict[str, Any]:
        return self._get(self.urls[0])

    def write(self, policy: Policy, change: Change | None = None) -> int:
        if not self.token:
            raise ControlError(f"an admin token is needed to change traffic: set "
                               f"{ADMIN_TOKEN_ENV} or pass --token-file")
        body = dict(policy.document())
        body.pop("generation", None)
        headers = {"content-type": "application/json", "authorization": f"Bearer {self.token}"}
        if change is not None:  # percent-encoded: a reason may be any text
            headers.update({"x-quoteflow-change": quote(change.change),
                            "x-quoteflow-actor": quote(change.actor),
                            "x-quoteflow-reason": quote(change.reason)})
        r = self.http.request("PUT", self.urls[0] + "/admin/traffic", body=json.dumps(body),
                              headers=headers)
        if r.status != 200:
            raise ControlError(f"router {self.urls[0]} refused the policy ({r.status}): "
                               f"{r.data[:500].decode(errors='replace')}")
        return int(json.loads(r.data)["generation"])

    def history(self) -> list[dict[str, Any]]:
        """Kept beside the policy file the routers share: any of them reads it."""
        try:
            r = self.http.request("GET", self.urls[0] + "/admin/traffic/history")
        except urllib3.exceptions.HTTPError as e:
            raise ControlError(f"router {self.urls[0]} unreachable: {e}") from e
        if r.status != 200:
            raise ControlError(f"router {self.urls[0]} answered {r.status}: {r.data[:300]!r}")
        return list(json.loads(r.data)["history"])

    def generations(self) -> dict[str, int]:
        out = {}
        for url in self.urls:
            try:
                out[url] = int(self._get(url)["generation"])
            except ControlError:
                out[url] = -1  # unreachable counts as not converged
        return out


class ClusterTarget:
    """The policy ConfigMap and the router pods, through the Kubernetes API."""

    def __init__(self, namespace: str, configmap: str, key: str = "policy.yaml",
                 router_selector: str = "app.kubernetes.io/component=router",
                 router_port: int = 8080, api_client: Any = None,
                 model: str = LEGACY_MODEL) -> None:
        from kubernetes import client

        if api_client is None:
            from quoteflow.traffic.configmap import default_api_client

            api_client = default_api_client()
        self.api_client = api_client
        self.core = client.CoreV1Api(api_client)
        self.model = model
        self.namespace = namespace
        self.configmap = configmap
        self.key = key
        self.selector = router_selector
        self.port = router_port
        self._resource_version: str | None = None
        self._history: str | None = None

    def for_model(self, model: str) -> ClusterTarget:
        return ClusterTarget(self.namespace, self.configmap, self.key, self.selector,
                             self.port, self.api_client, model)

    def _document(self) -> Any:
        cm = self.core.read_namespaced_config_map(self.configmap, self.namespace)
        self._resource_version = cm.metadata.resource_version if cm.metadata else None
        self._history = (cm.data or {}).get(history.CONFIGMAP_KEY)
        text = (cm.data or {}).get(self.key)
        if text is None:
            raise ControlError(f"ConfigMap {self.namespace}/{self.configmap} has no key "
                               f"{self.key!r}")
        return parse_document(text, f"configmap {self.namespace}/{self.configmap}")

    def models(self) -> list[str]:
        return list(self._document().models)

    def read(self) -> tuple[Policy, int]:
        policy = self._document().section(self.model)
        return policy, policy.generation or 0

    def history(self) -> list[dict[str, Any]]:
        self._document()
        return history.parse(self._history or "", self.model)

    def write(self, policy: Policy, change: Change | None = None) -> int:
        from kubernetes.client.exceptions import ApiException

        document = self._document()  # the other models' sections go back as they are
        generation = (document.section(self.model).generation or 0
                      if self.model in document.sections else 0)
        generation = max(generation, max(self.generations().values(), default=0)) + 1
        doc = document.with_section(
            self.model, policy.model_copy(update={"generation": generation})).document()
        data = {self.key: yaml.safe_dump(doc, sort_keys=False)}
        if change is not None:  # the history key, in the same optimistic update
            data[history.CONFIGMAP_KEY] = history.appended(self._history, history.entry(
                change, self.model, generation, doc["models"][self.model]))
        body = {"metadata": {"resourceVersion": self._resource_version}, "data": data}
        try:
            self.core.patch_namespaced_config_map(self.configmap, self.namespace, body)
        except ApiException as e:
            if e.status == 409:
                raise ControlError("the policy ConfigMap changed while this change was being "
                                   "made; read it again and retry") from e
            raise ControlError(f"patching ConfigMap {self.namespace}/{self.configmap} failed: "
                               f"{e.status} {e.reason}") from e
        return generation

    def admin_port(self, pod: Any) -> int:
        """The pod's container port named `admin` (the chart's adminPort), else the API port."""
        for c in (pod.spec.containers if pod.spec else None) or []:
            for p in c.ports or []:
                if p.name == "admin":
                    return int(p.container_port)
        return self.port

    def generations(self) -> dict[str, int]:
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=self.selector)
        out: dict[str, int] = {}
        for pod in pods.items:
            if (pod.status is None or pod.metadata is None or pod.metadata.name is None
                    or pod.status.phase != "Running" or pod.metadata.deletion_timestamp):
                continue
            name = pod.metadata.name
            try:  # _preload_content=False: the raw HTTP response, not a str
                raw: Any = self.core.connect_get_namespaced_pod_proxy_with_path(
                    f"{name}:{self.admin_port(pod)}", self.namespace, "admin/traffic",
                    _preload_content=False)
                view = json.loads(raw.data)
            except Exception:  # a pod that does not answer has not converged
                out[name] = -1
                continue
            if model_of(view) == self.model:  # another model's router: not ours to wait for
                out[name] = int(view["generation"])
        return out
