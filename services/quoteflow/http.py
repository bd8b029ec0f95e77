"""Transport helpers shared by the three services: JSON bytes in and out, probes, metrics.

Hot endpoints read the raw body and answer with orjson bytes: on this machine a
pydantic response model costs several times the whole inference (measured on 2 cores).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import REGISTRY
from prometheus_client.exposition import choose_encoder
from pydantic import BaseModel
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

from quoteflow import tracing

JSON = "application/json"
MAX_BODY_BYTES = 64 * 1024


Handler = Callable[[Request], Awaitable[Response]]

# what read_json_body can answer, documented on every route that reads a body
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "body over the size limit"},
    415: {"description": "content-type is not application/json"},
    422: {"description": "invalid JSON or fields, one entry per problem"},
}


class FastPathAPI(FastAPI):
    """FastAPI whose hot POST endpoints skip Starlette's middleware and routing stack.

    A hot endpoint is registered as a normal route (same path, OpenAPI docs) and also
    answered straight from ``__call__``: the handlers already take the raw Request
    and return orjson bytes, so the stack (error/exception middleware, routing,
    dependency solving) adds nothing to them but CPU, ~10-15% of a preprocess call
    on this machine (py-spy). Everything else, lifespan included, goes through FastAPI.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fast_routes: dict[str, Handler] = {}

    def fast_post(self, path: str, **route: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            route["responses"] = {**BODY_ERRORS, **route.get("responses", {})}
            self.post(path, **route)(handler)
            self.fast_routes[path] = handler
            return handler
        return register

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self.fast_routes.get(scope["path"])
            if handler is not None:
                try:  # under the request's trace id (and span, when tracing is on)
                    response = await tracing.handle(
                        scope, lambda: handler(Request(scope, receive)))
                except ClientDisconnect:  # the caller gave up (a shadow call's timeout)
                    return
                await response(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


class BadRequest(Exception):
    """A request refused before reaching the logic; rendered as a JSON error."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type=JSON, headers=headers)


def error_response(err: BadRequest) -> Response:
    return json_response({"detail": err.detail}, err.status, err.headers)


async def read_json_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body after content-type and size checks (413/415 with a clear message)."""
    ctype = request.headers.get("content-type", "")
    if ctype.split(";", 1)[0].strip().lower() != JSON:
        raise BadRequest(415, [{"loc": ["header", "content-type"],
                                "msg": f"expected {JSON}, got {ctype or 'nothing'}",
                                "type": "unsupported_media_type"}])
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BadRequest(413, [{"loc": ["body"], "msg": f"body over {limit} bytes",
                                "type": "too_large"}])
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # chunked bodies have no content-length: count as we read
            raise BadRequest(413, [{"loc": ["body"], "msg": f"body over {limit} bytes",
                                    "type": "too_large"}])
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        raise BadRequest(422, [{"loc": ["body"], "msg": "empty body; expected a JSON object",
                                "type": "missing"}])
    return body


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON Schema for an OpenAPI requestBody, nested models inlined: pydantic's
    `#/$defs/...` references would point at the root of the OpenAPI document, where
    no such key exists (schemathesis found them unresolvable)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    inlined: dict[str, Any] = inline(schema)  # a dict in, a dict out
    return inlined


def probes(ready: Callable[[], tuple[bool, dict[str, Any]]],
           before_scrape: Callable[[], None] | None = None) -> APIRouter:
    """/healthz (the process answers), /readyz (it can serve: the callback says), /metrics.

    ``before_scrape`` refreshes gauges that are computed, not counted (drift PSI).
    """
    r = APIRouter(tags=["operations"])

    @r.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> Response:
        # the pid tells a rolling restart's new process from the old on a shared port
        return json_response({"status": "alive", "pid": os.getpid()})

    @r.get("/readyz", summary="Readiness: ready to serve, or 503 with the reason",
           responses={503: {"description": "not ready: the body says why"}})
    async def readyz() -> Response:
        ok, detail = ready()
        return json_response({"ready": ok, "pid": os.getpid(), **detail}, 200 if ok else 503)

    @r.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if before_scrape is not None:
            before_scrape()
        # OpenMetrics when the scraper asks for it (Prometheus does): the only format
        # that carries the latency histograms' trace-id exemplars
        encode, media_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encode(REGISTRY), media_type=media_type)

    return r
