"""The desk's FastAPI app: lifespan (store, document folder, triage client, retry loop),
response headers, the request size limit, and the error pages."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from quoteflow.desk import outcome_metrics
from quoteflow.desk.claims import Desk
from quoteflow.desk.db import make_database
from quoteflow.desk.documents import DocumentFolder, human
from quoteflow.desk.retry import retry_pending
from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.store import DeskStore
from quoteflow.desk.triage import TriageClient
from quoteflow.desk.web import pages, review
from quoteflow.desk.web.render import TEMPLATES, render
from quoteflow.desk.web.security import HEADERS, LoginRequired


class Guard:
    """Security headers on every answer; a body over the limit refused before it is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] += [(k.lower().encode(), v.encode())
                                       for k, v in HEADERS.items()
                                       if k.lower().encode() not in have]
            await send(message)

        length = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            text = (f"The upload is {human(int(length))}: the desk takes at most "
                    f"{human(self.max_bytes)} in one request. Nothing was stored.")
            await PlainTextResponse(text, 413)(scope, receive, with_headers)
            return
        await self.app(scope, receive, with_headers)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    s: DeskSettings = app.state.settings
    db = make_database(s.database_url, s.pool_size)
    await db.open()
    client = TriageClient(s.router_url, s.triage_timeout)
    app.state.store = DeskStore(db)
    app.state.desk = Desk(app.state.store, DocumentFolder(s.documents_dir), client,
                          s.max_files, s.max_file_bytes)
    stop = asyncio.Event()
    loop = asyncio.create_task(retry_pending(app.state.desk, s.retry_interval, stop))
    app.state.ready = True
    try:
        yield
    finally:
        app.state.ready = False
        stop.set()
        await loop
        await client.aclose()
        await db.close()


def create_app(settings: DeskSettings | None = None) -> FastAPI:
    app = FastAPI(title="quoteflow claims desk", lifespan=lifespan, docs_url=None,
                  redoc_url=None, openapi_url=None)
    app.state.settings = settings or DeskSettings()
    app.state.csrf_key = secrets.token_bytes(32)
    app.state.ready = False
    app.state.metrics, app.state.outcome_collector = outcome_metrics.registry()
    app.add_middleware(Guard, max_bytes=app.state.settings.max_request_bytes)
    app.include_router(pages.router)
    app.include_router(review.router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", 303)

    @app.exception_handler(HTTPException)
    async def _error(request: Request, exc: HTTPException) -> Response:
        return render(request, "error.html", exc.status_code, status=exc.status_code,
                      message=exc.detail)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> PlainTextResponse:
        ok = app.state.ready
        return PlainTextResponse("ready" if ok else "starting", 200 if ok else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """The reviewer outcomes (outcome_metrics.py), fresh from the database."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        from quoteflow.desk.claims import outcomes

        found, table = await outcomes(app.state.store)
        app.state.outcome_collector.outcomes = found
        app.state.outcome_collector.currency = table.currency
        return Response(generate_latest(app.state.metrics), media_type=CONTENT_TYPE_LATEST)

    @app.get("/desk.css", include_in_schema=False)
    async def css() -> Response:
        return Response((TEMPLATES / "desk.css").read_bytes(), media_type="text/css")

    return app
