"""API docs that work air-gapped: /docs loads Swagger UI from this service, not a CDN.

FastAPI's own page fetches its script and styles from cdn.jsdelivr.net, so in a
cluster with no way out /docs is a blank page. The assets come from the PyPI package
fastapi-offline, which ships Swagger UI 5 (it renders the OpenAPI 3.1 that FastAPI
writes; the older bundle in swagger-ui-bundle stops at 3.0). Swagger UI's online
validator badge is off: it would call validator.swagger.io. /redoc is not served:
ReDoc's standalone script still loads its logo from cdn.redoc.ly (the browser test
caught it), and /docs plus /openapi.json cover the need.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
STATIC = files("fastapi_offline") / "static"


def serve_docs_offline(app: FastAPI) -> None:
    """Replace the app's CDN-backed /docs by a page served from the package; no /redoc."""
    docs_url, redoc_url = app.docs_url, app.redoc_url
    app.router.routes[:] = [r for r in app.router.routes
                            if getattr(r, "path", None) not in (docs_url, redoc_url)]
    app.mount(ASSETS_URL, StaticFiles(directory=str(STATIC)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    if docs_url:
        @app.get(docs_url, include_in_schema=False)
        async def swagger_ui(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            return get_swagger_ui_html(
                openapi_url=root + openapi_url, title=f"{app.title} - API docs",
                swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
                oauth2_redirect_url=None,
                swagger_ui_parameters={**(app.swagger_ui_parameters or {}),
                                       "validatorUrl": None})
