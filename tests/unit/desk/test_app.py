"""The desk app in process: sessions, CSRF, filing while triage is unreachable (pending,
nothing lost), hostile uploads, who sees what, the reviewer's decision and the export."""

from __future__ import annotations

import asyncio

import httpx
from fastapi.testclient import TestClient

from quoteflow.desk.claims import ACTIONS, labelled
from quoteflow.desk.db import make_database
from quoteflow.desk.settings import DeskSettings
from quoteflow.desk.store import DeskStore
from tests.unit.desk.conftest import FORM, PDF, csrf_of, login


def file(c: TestClient, csrf: str, files: list[tuple[str, bytes]], **form: str) -> httpx.Response:
    data = {**FORM, **form, "csrf_token": csrf}
    return c.post("/claims", data=data,
                  files=[("documents", (n, b, "application/pdf")) for n, b in files])


def test_pages_need_a_login_and_a_wrong_password_is_refused(app_client: TestClient) -> None:
    assert app_client.get("/claims", follow_redirects=False).headers["location"] == "/login"
    token = csrf_of(app_client.get("/login").text)
    r = app_client.post("/login", data={"username": "alice", "password": "nope" * 4,
                                        "csrf_token": token})
    assert r.status_code == 401 and "Wrong user name or password" in r.text


def test_login_cookie_flags_and_security_headers(app_client: TestClient) -> None:
    token = csrf_of(app_client.get("/login").text)
    r = app_client.post("/login", data={"username": "alice", "password":
                                        "correct horse battery", "csrf_token": token},
                        follow_redirects=False)
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    page = app_client.get("/claims")
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_post_without_csrf_is_refused_and_stores_nothing(app_client: TestClient,
                                                         settings: DeskSettings) -> None:
    login(app_client, "alice")
    r = file(app_client, "", [("a.pdf", PDF)])
    assert r.status_code == 403 and "security token is missing" in r.text
    assert app_client.get("/claims").text.count("/claims/CLM-") == 0
    assert not settings.documents_dir.exists()


def test_claim_is_kept_pending_when_triage_is_unreachable(app_client: TestClient) -> None:
    csrf = login(app_client, "alice")
    r = file(app_client, csrf, [("estimate.pdf", PDF)])
    assert r.status_code == 200 and "Saved, waiting for triage" in r.text
    assert "will be triaged automatically" in r.text and "estimate.pdf" in r.text
    assert "A pipe burst in the kitchen." in r.text  # what the agent typed is kept
    # facts in words: the currency's format, dates as dates, yes or no
    assert '<td id="fact-claimed_amount">€2,300.00</td>' in r.text
    assert '<td id="fact-sum_insured">€250,000.00</td>' in r.text
    assert '<td id="fact-incident_date">Sun 2 Mar 2025</td>' in r.text
    assert '<td id="fact-police_or_medical_report">No</td>' in r.text
    assert "2300.0" not in r.text and "False" not in r.text
    assert "What triage made of it" not in r.text  # no answer yet, no reasons column


def test_field_errors_come_back_beside_their_inputs(app_client: TestClient) -> None:
    csrf = login(app_client, "alice")
    r = file(app_client, csrf, [], claimant_age="twelve", incident_date="2023-01-01")
    assert r.status_code == 422
    assert 'id="claimant_age-error">Enter a whole number' in r.text
    r = file(app_client, csrf, [], incident_date="2023-01-01")
    assert 'id="incident_date-error">is before the policy start date' in r.text


def test_hostile_uploads_are_refused_and_nothing_is_stored(app_client: TestClient,
                                                           settings: DeskSettings) -> None:
    csrf = login(app_client, "alice")
    for files, says in (([("x.pdf", b"<html><script>1</script></html>")], "x.pdf is HTML"),
                        ([("ok.pdf", PDF), ("empty.pdf", b"")], "empty.pdf is empty"),
                        ([("big.pdf", PDF + b"0" * 1024 * 1024)], "larger than the 1 MiB"),
                        ([("../../etc/x.pdf", PDF)], "not a plain file name"),
                        ([("a.pdf", PDF)] * 4, "at most 3 can be uploaded")):
        r = file(app_client, csrf, files)
        assert r.status_code == 422 and says in r.text, (says, r.text[-1500:])
        assert "Nothing was stored" in r.text
    assert not settings.documents_dir.exists()
    assert "/claims/CLM-" not in app_client.get("/claims").text


def test_request_over_the_limit_is_refused_before_reading(settings: DeskSettings) -> None:
    from quoteflow.desk.web.app import create_app

    settings.max_request_bytes = 1000
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        r = c.post("/claims", content=b"x" * 2000)
        assert r.status_code == 413 and "at most 1000 bytes" in r.text


def test_another_agents_claim_is_404_and_reviewer_decides(app_client: TestClient,
                                                          settings: DeskSettings) -> None:
    csrf = login(app_client, "alice")
    ref = file(app_client, csrf, [("a.pdf", PDF)]).url.path.rsplit("/", 1)[1]
    doc = app_client.get(f"/claims/{ref}/documents/1")
    assert doc.content == PDF and doc.headers["content-disposition"].startswith("attachment")
    assert doc.headers["x-content-type-options"] == "nosniff"
    login(app_client, "bob")
    assert app_client.get(f"/claims/{ref}").status_code == 404
    assert app_client.get(f"/claims/{ref}/documents/1").status_code == 404
    assert app_client.get("/queue").status_code == 403
    # a pending claim is not in the queue; put it there as triage would
    asyncio.run(_set_status(settings, ref, "fraud_review"))
    csrf = login(app_client, "rita")
    assert ref in app_client.get("/queue").text
    r = app_client.post(f"/claims/{ref}/decision", data={"action": "approve", "reason": " ",
                                                         "csrf_token": csrf})
    assert r.status_code == 422 and "give a reason" in r.text
    r = app_client.post(f"/claims/{ref}/decision", data={
        "action": "approve", "reason": "<b>receipts</b> checked", "csrf_token": csrf})
    assert "Approved by reviewer by rita" in r.text
    assert "&lt;b&gt;receipts&lt;/b&gt; checked" in r.text
    rows = asyncio.run(_decisions(settings))
    assert [(r["label"], r["reviewer"], r["reason"]) for r in rows] == [
        ("valid", "rita", "<b>receipts</b> checked")]


async def _set_status(settings: DeskSettings, ref: str, status: str) -> None:
    db = make_database(settings.database_url)
    await db.open()
    await db.execute("UPDATE desk_claims SET status = ? WHERE reference = ?", status, ref)
    await db.close()


async def _decisions(settings: DeskSettings) -> list[dict]:
    db = make_database(settings.database_url)
    await db.open()
    try:
        return [labelled(d) for d in await DeskStore(db).decisions(tuple(ACTIONS))]
    finally:
        await db.close()
