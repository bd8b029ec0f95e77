"""A stand-in Kubernetes API server for ConfigMaps, on 127.0.0.1. No real cluster.

It speaks the parts of the real list/watch protocol that a controller relies on
(https://kubernetes.io/docs/reference/using-api/api-concepts/):

- ``GET /api/v1/namespaces/{ns}/configmaps[?fieldSelector=metadata.name=N]``:
  a ``ConfigMapList`` whose ``metadata.resourceVersion`` is the store's current one;
- the same with ``watch=true&resourceVersion=RV``: HTTP/1.1 chunked JSON lines
  ``{"type": "ADDED"|"MODIFIED"|"DELETED"|"ERROR", "object": ...}``, one per chunk,
  starting after RV; ``timeoutSeconds`` ends the stream cleanly;
- a resourceVersion older than the retained history (after ``compact()``) gets an
  ``ERROR`` event carrying a ``Status`` with code 410 ``Expired``, as the API
  server sends for a watch (a list with such a version gets HTTP 410);
- ``GET /api/v1/namespaces/{ns}/configmaps/{name}``, and ``PUT`` of the same;
- ``PATCH`` of the same (merge of ``data``; a ``metadata.resourceVersion`` in the
  patch that is not the current one gets 409 Conflict, as optimistic concurrency);
- ``GET /api/v1/namespaces/{ns}/pods?labelSelector=k=v``: a ``PodList`` of the pods
  registered with ``add_pod``, and ``GET .../pods/{name}:{port}/proxy/{path}``: the
  API server's pod proxy, forwarded over real HTTP to the process behind that pod.

Test controls: ``put``/``delete`` change objects, ``drop_watches()`` cuts every open
stream mid-flight without the final chunk (a network drop), ``compact()`` forgets
history, ``requests`` records what clients asked. Reusable by any test that needs a
ConfigMap-backed controller (the router's policy watch, SRE tooling).
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_COLLECTION = re.compile(r"^/api/v1/namespaces/([^/]+)/configmaps(?:/([^/]+))?$")
_PODS = re.compile(r"^/api/v1/namespaces/([^/]+)/pods$")
_PROXY = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/:]+)(?::(\d+))?/proxy/(.*)$")


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class StandInAPI:
    """State and controls; ``url`` is the base to give a kubernetes client."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rv = 100
        self._objects: dict[tuple[str, str], dict[str, Any]] = {}
        # (rv, event type, namespace, object) for every change since the last compaction
        self._history: list[tuple[int, str, str, dict[str, Any]]] = []
        self._oldest = self._rv  # watches from before this version get 410
        self._drop_generation = 0
        self.requests: list[dict[str, Any]] = []
        # (namespace, name) -> (labels, base URL of the process playing that pod)
        self.pods: dict[tuple[str, str], tuple[dict[str, str], str]] = {}
        self.pod_ports: dict[tuple[str, str], dict[str, tuple[int, str]]] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StandInAPI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.drop_watches()
        self._server.shutdown()
        self._server.server_close()

    # --- controls -------------------------------------------------------------------

    def put(self, namespace: str, name: str, data: dict[str, str]) -> str:
        """Create or replace a ConfigMap; returns its new resourceVersion."""
        with self._cond:
            self._rv += 1
            old = self._objects.get((namespace, name))
            obj = {"kind": "ConfigMap", "apiVersion": "v1",
                   "metadata": {"name": name, "namespace": namespace,
                                "uid": old["metadata"]["uid"] if old else str(uuid.uuid4()),
                                "resourceVersion": str(self._rv),
                                "creationTimestamp": "2026-01-01T00:00:00Z"},
                   "data": dict(data)}
            self._objects[(namespace, name)] = obj
            self._history.append((self._rv, "MODIFIED" if old else "ADDED", namespace,
                                  copy.deepcopy(obj)))
            self._cond.notify_all()
            return str(self._rv)

    def data(self, namespace: str, name: str) -> dict[str, str]:
        """A ConfigMap's data as the API server holds it now."""
        with self._cond:
            return dict(self._objects[(namespace, name)].get("data") or {})

    def delete(self, namespace: str, name: str) -> None:
        with self._cond:
            obj = self._objects.pop((namespace, name))
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._history.append((self._rv, "DELETED", namespace, obj))
            self._cond.notify_all()

    def add_pod(self, namespace: str, name: str, labels: dict[str, str], url: str,
                ports: dict[str, tuple[int, str]] | None = None) -> None:
        """Register a pod; its proxy forwards to ``url`` (a real process on loopback).

        ``ports`` (name -> (containerPort, url)) gives the pod spec named container
        ports, and the proxy then forwards `<pod>:<port>` to that port's url only."""
        self.pods[(namespace, name)] = (labels, url.rstrip("/"))
        self.pod_ports[(namespace, name)] = {n: (p, u.rstrip("/"))
                                             for n, (p, u) in (ports or {}).items()}

    def compact(self) -> None:
        """Forget history, as etcd compaction does: older resourceVersions now get 410."""
        with self._cond:
            self._history.clear()
            self._oldest = self._rv
            self._cond.notify_all()

    def drop_watches(self) -> None:
        """Cut every open watch stream without the terminating chunk."""
        with self._cond:
            self._drop_generation += 1
            self._cond.notify_all()

    def watch_count(self) -> int:
        return sum(1 for r in self.requests if r["watch"])

    def list_count(self) -> int:
        return sum(1 for r in self.requests if not r["watch"] and r["method"] == "GET")

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(0.01)
        return bool(predicate())

    # --- protocol -------------------------------------------------------------------

    @staticmethod
    def _selected(obj: dict[str, Any], namespace: str, selector: str | None) -> bool:
        if obj["metadata"]["namespace"] != namespace:
            return False
        if not selector:
            return True
        for term in selector.split(","):
            field, _, value = term.partition("=")
            if field == "metadata.name" and obj["metadata"]["name"] != value.lstrip("="):
                return False
        return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def _json(self, code: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                q = {k: v[-1] for k, v in parse_qs(url.query).items()}
                m = _COLLECTION.match(url.path)
                watching = q.get("watch") in ("true", "1")
                api.requests.append({"method": "GET", "path": url.path, "query": q,
                                     "watch": watching})
                path = unquote(url.path)  # clients quote the ':' of "pod:port"
                if pods := _PODS.match(path):
                    self._pods(pods.group(1), q)
                    return
                if proxy := _PROXY.match(path):
                    self._proxy(*proxy.groups())
                    return
                if not m:
                    self._json(404, status(404, "NotFound", f"{url.path} not served"))
                    return
                namespace, name = m.groups()
                if name:
                    with api._cond:
                        obj = api._objects.get((namespace, name))
                    if obj is None:
                        self._json(404, status(404, "NotFound",
                                               f'configmaps "{name}" not found'))
                    else:
                        self._json(200, obj)
                    return
                if watching:
                    self._watch(namespace, q)
                else:
                    self._list(namespace, q)

            def do_PUT(self) -> None:
                url = urlsplit(self.path)
                m = _COLLECTION.match(url.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append({"method": "PUT", "path": url.path, "query": {},
                                     "watch": False})
                if not m or not m.group(2):
                    self._json(405, status(405, "MethodNotAllowed", "PUT a named object"))
                    return
                rv = api.put(m.group(1), m.group(2), body.get("data") or {})
                with api._cond:
                    self._json(200, api._objects[(m.group(1), m.group(2))])
                del rv

            def do_PATCH(self) -> None:
                url = urlsplit(self.path)
                m = _COLLECTION.match(url.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.requests.append({"method": "PATCH", "path": url.path, "query": {},
                                     "watch": False,
                                     "content_type": self.headers.get("Content-Type")})
                if not m or not m.group(2):
                    self._json(405, status(405, "MethodNotAllowed", "PATCH a named object"))
                    return
                key = (m.group(1), m.group(2))
                with api._cond:
                    obj = api._objects.get(key)
                    if obj is None:
                        self._json(404, status(404, "NotFound",
                                               f'configmaps "{key[1]}" not found'))
                        return
                    wanted = (body.get("metadata") or {}).get("resourceVersion")
                    if wanted and wanted != obj["metadata"]["resourceVersion"]:
                        self._json(409, status(409, "Conflict", "the object has been "
                                               "modified; please apply your changes to the "
                                               "latest version and try again"))
                        return
                    data = {**(obj.get("data") or {}), **(body.get("data") or {})}
                api.put(key[0], key[1], data)
                with api._cond:
                    self._json(200, api._objects[key])

            def _pods(self, namespace: str, q: dict[str, str]) -> None:
                wanted = dict(t.split("=", 1) for t in q.get("labelSelector", "").split(",")
                              if "=" in t)
                items = [{"kind": "Pod", "apiVersion": "v1",
                          "metadata": {"name": name, "namespace": ns, "labels": labels},
                          "spec": {"containers": [{"name": "main", "ports": [
                              {"name": n, "containerPort": p, "protocol": "TCP"}
                              for n, (p, _) in api.pod_ports[(ns, name)].items()]}]},
                          "status": {"phase": "Running"}}
                         for (ns, name), (labels, _) in sorted(api.pods.items())
                         if ns == namespace and all(labels.get(k) == v
                                                    for k, v in wanted.items())]
                self._json(200, {"kind": "PodList", "apiVersion": "v1",
                                 "metadata": {"resourceVersion": str(api._rv)},
                                 "items": items})

            def _proxy(self, namespace: str, name: str, port: str | None, path: str) -> None:
                import urllib.error
                import urllib.request

                pod = api.pods.get((namespace, name))
                if pod is None:
                    self._json(404, status(404, "NotFound", f'pods "{name}" not found'))
                    return
                target = pod[1]
                if ports := api.pod_ports[(namespace, name)]:
                    by_number = {str(p): u for p, u in ports.values()}
                    if (port or "") not in by_number:  # as a pod with nothing listening
                        self._json(503, status(503, "ServiceUnavailable", "error trying to "
                                               f"reach service: dial tcp :{port}: connect: "
                                               "connection refused"))
                        return
                    target = by_number[port or ""]
                try:
                    with urllib.request.urlopen(f"{target}/{path}", timeout=5) as r:
                        code, raw = r.status, r.read()
                except urllib.error.HTTPError as e:
                    code, raw = e.code, e.read()
                except OSError as e:
                    self._json(503, status(503, "ServiceUnavailable", f"error trying to "
                                           f"reach service: {e}"))
                    return
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _list(self, namespace: str, q: dict[str, str]) -> None:
                selector = q.get("fieldSelector")
                with api._cond:
                    items = [copy.deepcopy(o) for o in api._objects.values()
                             if api._selected(o, namespace, selector)]
                    rv = api._rv
                self._json(200, {"kind": "ConfigMapList", "apiVersion": "v1",
                                 "metadata": {"resourceVersion": str(rv)}, "items": items})

            def _chunk(self, payload: dict[str, Any]) -> None:
                line = json.dumps(payload).encode() + b"\n"
                self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()

            def _watch(self, namespace: str, q: dict[str, str]) -> None:
                selector = q.get("fieldSelector")
                timeout = float(q.get("timeoutSeconds", "1800"))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                with api._cond:
                    since = int(q.get("resourceVersion") or api._rv)
                    if since < api._oldest:
                        self._chunk({"type": "ERROR", "object": status(
                            410, "Expired",
                            f"too old resource version: {since} ({api._oldest})")})
                        self._end()
                        return
                    drop_gen = api._drop_generation
                deadline = time.monotonic() + timeout
                def news(since: int = since) -> bool:
                    return bool(api._drop_generation != drop_gen
                                or (api._history and api._history[-1][0] > since)
                                or since < api._oldest)

                while True:
                    with api._cond:
                        api._cond.wait_for(
                            lambda since=since: news(since),  # type: ignore[misc]
                            timeout=max(0.0, min(0.2, deadline - time.monotonic())))
                        if api._drop_generation != drop_gen:
                            self._cut()
                            return
                        if since < api._oldest:
                            # compacted under an open watch: the server ends it with 410
                            self._chunk({"type": "ERROR", "object": status(
                                410, "Expired", f"too old resource version: {since}")})
                            self._end()
                            return
                        events = [(rv, kind, obj) for rv, kind, ns, obj in api._history
                                  if rv > since and api._selected(obj, namespace, selector)]
                        newest = api._history[-1][0] if api._history else since
                    for _rv, kind, obj in events:
                        self._chunk({"type": kind, "object": obj})
                    since = max(since, newest)
                    if time.monotonic() >= deadline:
                        self._end()
                        return

            def _end(self) -> None:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

            def _cut(self) -> None:
                # no terminating chunk: the client sees the stream end prematurely
                with contextlib.suppress(OSError):
                    self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(2)

        return Handler
