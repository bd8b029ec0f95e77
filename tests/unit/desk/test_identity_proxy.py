"""The desk behind an OIDC proxy: the proxy's user header is trusted only when the desk
is configured to, and then names the user (and role) of every request."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.web.app import create_app


def test_the_header_is_ignored_unless_configured(app_client: TestClient) -> None:
    r = app_client.get("/claims", headers={"X-Forwarded-User": "rita"},
                       follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_configured_header_names_the_user_and_role(settings: DeskSettings,
                                                    tmp_path: Path) -> None:
    proxied = settings.model_copy(update={"identity_header": "X-Forwarded-User",
                                          "identity_role_header": "X-Forwarded-Role"})
    with TestClient(create_app(proxied), base_url="http://127.0.0.1") as c:
        page = c.get("/claims", headers={"X-Forwarded-User": "carol"})
        assert page.status_code == 200 and "carol" in page.text
        queue = c.get("/queue", headers={"X-Forwarded-User": "dora",
                                         "X-Forwarded-Role": "reviewer"})
        assert queue.status_code == 200 and "dora" in queue.text
        refused = c.get("/claims", headers={"X-Forwarded-User": "eve",
                                            "X-Forwarded-Role": "admin"})
        assert refused.status_code == 403 and "admin" in refused.text
        anonymous = c.get("/claims", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"
