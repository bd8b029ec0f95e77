"""/docs renders with no network beyond the service itself: Debian's chromium,
driven by playwright, opens each service's pages; every request that would leave
127.0.0.1 is recorded and refused, and the rendered page must list the operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Route

from quoteflow.local.stack import Stack
from tests.e2e.helpers import make_stack

OPERATIONS = {"preprocess": "/v1/features", "inference-blue": "/v1/predict",
              "router": "/v1/quote"}


@pytest.fixture(scope="module")
def stack(trained_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with make_stack(trained_registry, tmp_path_factory.mktemp("docs")) as st:
        yield st


def open_offline(browser: Browser, url: str) -> tuple[object, list[str], list[str]]:
    """The page, the requests it made to 127.0.0.1, and those refused (anywhere else)."""
    local: list[str] = []
    refused: list[str] = []
    context = browser.new_context()

    def gate(route: Route) -> None:
        target = route.request.url
        if urlsplit(target).hostname == "127.0.0.1":
            local.append(target)
            route.continue_()
        else:
            refused.append(target)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.goto(url, wait_until="networkidle")
    return page, local, refused


@pytest.mark.parametrize("service", list(OPERATIONS))
def test_swagger_ui_renders_air_gapped(stack: Stack, browser: Browser, service: str) -> None:
    base = stack.config.url(service)
    page, local, refused = open_offline(browser, base + "/docs")
    page.wait_for_selector(".opblock", timeout=10_000)  # type: ignore[attr-defined]
    paths = page.locator(".opblock-summary-path").all_inner_texts()  # type: ignore[attr-defined]
    assert OPERATIONS[service] in [p.replace("\u200b", "") for p in paths], paths
    assert refused == []
    assert base + "/docs-assets/swagger-ui-bundle.js" in local
    assert base + "/openapi.json" in local
    page.context.close()  # type: ignore[attr-defined]


def test_no_redoc_page_that_would_call_out(stack: Stack) -> None:
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(stack.config.url("router") + "/redoc")
    assert e.value.code == 404
