"""In a cluster: follow the traffic-policy ConfigMap through the Kubernetes API; and the
one Kubernetes client loader (``default_api_client``), which the CLI's ConfigMap writer
uses too.

The mounted ConfigMap file is the fallback, but the kubelet refreshes mounted
files only every minute or so; the kill switch has to reach every router replica
within a second, so each router lists then watches its one ConfigMap
(``fieldSelector=metadata.name=NAME``) and applies each change through
``document.apply_text``. RBAC grants get/list/watch on that object only.

Protocol handling, as the API server behaves:
- list first, then watch from the list's ``resourceVersion`` (no event missed
  between the two); every event moves our resourceVersion forward;
- the server ends a watch after ``timeoutSeconds``, or the stream drops: watch
  again from the last resourceVersion, with capped exponential backoff when
  the connection itself fails;
- ``410 Gone`` (an ERROR event, or the HTTP status) means our resourceVersion
  was compacted away: list again, then watch from the fresh one;
- a refused document is logged and counted; the running policy stays and the
  watcher keeps going. Deleting the ConfigMap keeps the running policy too.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

from quoteflow import metrics
from quoteflow.traffic.document import SupportsApply, apply_text
from quoteflow.traffic.policy import PolicyError

log = logging.getLogger(__name__)

GONE = 410


def default_api_client() -> k8s_client.ApiClient:
    """The pod's service account in a cluster, else the developer's kubeconfig."""
    try:
        k8s_config.load_incluster_config()
    except k8s_config.ConfigException:
        k8s_config.load_kube_config()
    return k8s_client.ApiClient()


class ConfigMapWatcher:
    """Keeps ``store`` in step with one ConfigMap key, from a daemon thread."""

    def __init__(self, store: SupportsApply, namespace: str, name: str,
                 key: str = "policy.yaml", api_client: k8s_client.ApiClient | None = None,
                 *, watch_timeout_seconds: int = 300, backoff_initial: float = 0.2,
                 backoff_max: float = 10.0) -> None:
        self.store = store
        self.namespace = namespace
        self.name = name
        self.key = key
        self.source = f"configmap/{namespace}/{name}#{key}"
        self._api_client = api_client
        # Server-side watch timeout: a periodic clean reconnect, and it turns off the
        # client's own hidden retry loop so that reconnects and 410s are handled here.
        self.watch_timeout_seconds = watch_timeout_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.resource_version: str | None = None
        self.last_error: str | None = None
        self.lists = 0  # how many times we listed (1 + one per 410): visible to tests/status
        self.watches = 0
        self._last_text: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watch: k8s_watch.Watch | None = None
        self._api: k8s_client.CoreV1Api | None = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("ConfigMapWatcher already started")
        # Configuration errors (no service account, no kubeconfig) are raised here, at
        # start, loudly: the operator asked for a ConfigMap watch.
        if self._api_client is None:
            self._api_client = default_api_client()
        self._api = k8s_client.CoreV1Api(self._api_client)
        self._thread = threading.Thread(target=self._run, name=f"k8s-watch-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        while True:
            w = self._watch
            if w is not None:
                # shuts the socket down so a blocked read returns now; asked again while
                # the thread lives, since a watch still opening has no socket yet (and
                # its stream() clears the flag when it starts)
                w.stop()
            if self._thread is None or time.monotonic() > deadline:
                return
            self._thread.join(0.05)
            if not self._thread.is_alive():
                return

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- the loop -------------------------------------------------------------------

    def _run(self) -> None:
        delay = self.backoff_initial
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                began = time.monotonic()
                self._watch_once()
                if time.monotonic() - began > 1.0:
                    delay = self.backoff_initial  # a watch that ran normally resets the backoff
                    continue
                # a server that ends every watch at once must not make us spin
                self.last_error = "watch ended immediately"
            except k8s_client.ApiException as e:
                if e.status == GONE:
                    log.info("policy watch: resourceVersion expired (410), listing again",
                             extra={"configmap": self.name,
                                    "resource_version": self.resource_version})
                    self.resource_version = None
                    continue
                self.last_error = f"API error {e.status}: {e.reason}"
            except Exception as e:  # stream drops surface as many urllib3/socket types
                self.last_error = f"{type(e).__name__}: {e}"
            if self._stop.is_set():
                break
            log.warning("policy watch interrupted; retrying",
                        extra={"configmap": self.name, "error": self.last_error,
                               "retry_in_s": round(delay, 3)})
            # jitter so that every replica does not hit the API server in the same instant
            self._stop.wait(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.backoff_max)

    def _list(self) -> None:
        assert self._api is not None
        # _preload_content=False: the raw HTTP response (its bytes), not the typed list
        resp: Any = self._api.list_namespaced_config_map(
            self.namespace, field_selector=f"metadata.name={self.name}",
            _preload_content=False, _request_timeout=(5, 30))
        body = json.loads(resp.data)
        self.lists += 1
        items = body.get("items") or []
        if not items:
            log.warning("policy ConfigMap not found; the running policy stays",
                        extra={"configmap": self.name, "namespace": self.namespace})
        for item in items:
            self._apply(item)
        self.resource_version = body["metadata"]["resourceVersion"]

    def _watch_once(self) -> None:
        assert self._api is not None
        w = k8s_watch.Watch()
        self._watch = w
        self.watches += 1
        try:
            for event in w.stream(
                    self._api.list_namespaced_config_map, self.namespace,
                    field_selector=f"metadata.name={self.name}",
                    resource_version=self.resource_version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=self.watch_timeout_seconds,
                    # read timeout past the server's own: catches a silently dead peer
                    _request_timeout=(5, self.watch_timeout_seconds + 30)):
                if self._stop.is_set():
                    return
                kind = event["type"]
                obj: dict[str, Any] = event["raw_object"]
                if kind in ("ADDED", "MODIFIED"):
                    self._apply(obj)
                elif kind == "DELETED":
                    log.warning("policy ConfigMap deleted; the running policy stays",
                                extra={"configmap": self.name})
                rv = (obj.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self.resource_version = rv
        finally:
            self._watch = None

    def _apply(self, obj: dict[str, Any]) -> None:
        text = (obj.get("data") or {}).get(self.key)
        if text is None:
            self.last_error = f"{self.source}: key {self.key!r} missing"
            metrics.POLICY_RELOAD_ERRORS.inc()
            log.error("policy ConfigMap has no policy key; the running policy stays",
                      extra={"configmap": self.name, "key": self.key})
            return
        if text == self._last_text:
            return  # a relist or replay of what we already applied (or already refused)
        self._last_text = text
        try:
            apply_text(self.store, text, self.source)
        except PolicyError as e:
            self.last_error = str(e)
            metrics.POLICY_RELOAD_ERRORS.inc()
            log.error("traffic policy refused; the running policy stays",
                      extra={"error": str(e), "generation": self.store.generation})
            return
        self.last_error = None
        log.info("traffic policy applied from the ConfigMap",
                 extra={"configmap": self.name, "generation": self.store.generation,
                        "resource_version": (obj.get("metadata") or {}).get("resourceVersion")})
