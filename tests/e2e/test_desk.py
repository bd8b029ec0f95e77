"""The claims desk in a real browser (Debian's chromium driven by playwright) against a
real desk process and a real claims stack (router, preprocess, inference): filing with
documents, the decision at once, the reviewers' queue, triage outages and hostile input.
Screenshots of each page are kept under pytest's temporary folder (desk-screens/)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from quoteflow.local.stack import Stack
from quoteflow.products.claims import training
from quoteflow.products.claims.labels import load as load_labels
from quoteflow.registry import Registry
from tests.e2e.desk_helpers import FRAUD, INCOMPLETE, PASSWORD, VALID, DeskProcess
from tests.e2e.helpers import make_stack

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
XSS = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    registry = tmp_path_factory.mktemp("desk-registry")
    training.register(training.train(seed=training.DEFAULT_SEED), Registry(registry))
    with make_stack(registry, tmp_path_factory.mktemp("desk-stack"),
                    model_name="claims") as st:
        yield st


@pytest.fixture(scope="module")
def desk(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskProcess]:
    d = DeskProcess(tmp_path_factory.mktemp("desk"), stack.config.url("router"))
    d.add_users()
    d.start()
    yield d
    d.stop()


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desk-screens")


def session(browser: Browser, desk: DeskProcess, user: str) -> Page:
    """A fresh browser context logged in as ``user``, with the keyboard alone."""
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    page.goto(desk.url + "/login")
    page.locator("#username").focus()  # autofocus, unless the page loaded unfocused
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/(claims|queue)$"))
    return page


def fill_claim(page: Page, desk: DeskProcess, fields: dict[str, str],
               files: list[dict[str, object]] | list[str] | None = None) -> None:
    page.goto(desk.url + "/claims/new")
    for name, value in fields.items():
        if name == "line":
            page.get_by_label("Line of business").select_option(value)
        elif name == "police_or_medical_report":
            page.locator("#police_or_medical_report").check()
        else:
            page.locator(f"#{name}").fill(value)
    if files:
        page.get_by_label(re.compile("^Documents")).set_input_files(files)  # type: ignore[arg-type]
    page.get_by_role("button", name="File the claim").click()
    page.wait_for_load_state()


def doc(name: str, data: bytes, mime: str = "application/pdf") -> dict[str, object]:
    return {"name": name, "mimeType": mime, "buffer": data}


def test_agent_files_a_claim_with_a_pdf_and_sees_the_decision(
        browser: Browser, desk: DeskProcess, screens: Path) -> None:
    page = browser.new_page()
    page.goto(desk.url + "/login")
    page.screenshot(path=str(screens / "01-login.png"), full_page=True)
    page.close()
    page = session(browser, desk, "alice")
    page.goto(desk.url + "/claims/new")
    page.screenshot(path=str(screens / "02-new-claim.png"), full_page=True)
    fill_claim(page, desk, VALID, [doc("claim-form.pdf", PDF), doc("roof.png", PNG, "image/png"),
                                   doc("invoice.txt", b"Roofer invoice: 1850 EUR\n",
                                       "text/plain")])
    expect(page.locator("#status")).to_contain_text("Approved")
    expect(page.locator("#decision")).to_have_text("valid")
    expect(page.locator("#probabilities")).to_contain_text("That the claim is valid:")
    assert page.locator("#reasons li").count() >= 1
    expect(page.locator("#documents")).to_contain_text("claim-form.pdf")
    page.screenshot(path=str(screens / "03-claim-approved.png"), full_page=True)
    with page.expect_download() as dl:
        page.get_by_role("link", name="claim-form.pdf").click()
    assert Path(dl.value.path()).read_bytes() == PDF
    page.goto(desk.url + "/claims")
    expect(page.locator("table")).to_contain_text("Approved")
    page.screenshot(path=str(screens / "04-my-claims.png"), full_page=True)


def test_incomplete_claim_asks_for_documents(browser: Browser, desk: DeskProcess,
                                             screens: Path) -> None:
    page = session(browser, desk, "alice")
    fill_claim(page, desk, INCOMPLETE)
    expect(page.locator("#status")).to_contain_text("Documents needed")
    expect(page.locator("#missing")).to_contain_text("2 more document(s)")
    expect(page.locator("#missing")).to_contain_text("a medical report")
    page.screenshot(path=str(screens / "05-needs-documents.png"), full_page=True)
    page.get_by_label(re.compile("^Add documents")).set_input_files(
        [doc("form.pdf", PDF), doc("bill.pdf", PDF + b"%bill\n")])
    page.get_by_role("button", name="Add and triage again").click()
    expect(page.locator("#history")).to_contain_text("Documents added by alice")
    expect(page.locator("#fact-documents_attached")).to_have_text("2")


def test_reviewer_approves_a_suspicious_claim_with_a_reason(
        browser: Browser, desk: DeskProcess, screens: Path, tmp_path: Path) -> None:
    agent = session(browser, desk, "alice")
    fill_claim(agent, desk, FRAUD, [doc("photos.pdf", PDF)])
    expect(agent.locator("#status")).to_contain_text("Held for fraud review")
    reference = agent.url.rsplit("/", 1)[1]
    reviewer = session(browser, desk, "rita")
    expect(reviewer.locator("table")).to_contain_text(reference)
    reviewer.screenshot(path=str(screens / "06-review-queue.png"), full_page=True)
    reviewer.get_by_role("link", name=reference).click()
    reviewer_sees_facts_in_words(reviewer)
    reviewer.screenshot(path=str(screens / "06b-claim-for-review.png"), full_page=True)
    reviewer.get_by_label("Approve (pay)").check()
    reviewer.get_by_label(re.compile("^Reason")).fill("Dealer invoice and bank transfer seen")
    reviewer.get_by_role("button", name="Record the decision").click()
    expect(reviewer.locator("#status")).to_contain_text("Approved")
    history = reviewer.locator("#history")
    expect(history).to_contain_text("Triaged by triage: fraud")
    expect(history).to_contain_text("Approved by reviewer by rita, because: "
                                    "Dealer invoice and bank transfer seen")
    reviewer.screenshot(path=str(screens / "07-claim-history.png"), full_page=True)
    agent.reload()
    expect(agent.locator("#history")).to_contain_text("Approved by reviewer by rita")
    rows = [json.loads(x) for x in desk.cli("export-decisions").splitlines()]
    mine = [r for r in rows if r["claim_reference"] == reference]
    assert [(r["label"], r["reviewer"], r["triage_decision"]) for r in mine] == [
        ("valid", "rita", "fraud")]
    assert mine[0]["request"]["line"] == "motor"
    outcomes_are_exported(desk, mine[0]["triage_model"])
    labels = tmp_path / "decisions.jsonl"
    desk.cli("export-decisions", "--out", str(labels))
    assert reference in {c.reference for c in load_labels(labels).claims}  # trainable as is


def reviewer_sees_facts_in_words(page: Page) -> None:
    """Amounts in the currency's format, yes/no, dates as dates, and each of triage's
    reasons beside the fact it names."""
    expect(page.locator("#fact-claimed_amount")).to_have_text("€15,000.00")
    expect(page.locator("#fact-sum_insured")).to_have_text("€15,000.00")
    expect(page.locator("#fact-police_or_medical_report")).to_have_text("Yes")
    expect(page.locator("#fact-line")).to_have_text("Motor")
    expect(page.locator("#fact-incident_date")).to_have_text(
        re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}$"))
    facts = page.locator("table.facts").inner_text()
    assert "15000.0" not in facts and "True" not in facts
    assert not re.search(r"\d{4}-\d\d-\d\d", facts)  # no ISO dates left
    said = page.locator("#reasons li").all_inner_texts()
    beside = page.locator(".fact-reason p").all_inner_texts()
    assert said and set(beside) <= set(said)
    assert len(beside) == len([r for r in said if not r.startswith("No single fact")])


def outcomes_are_exported(desk: DeskProcess, model: dict[str, str]) -> None:
    """The reviewer's decision counts in the desk's metrics and `quoteflow claims
    outcomes`, under the version and color that triaged the claim."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(desk.url + "/metrics", timeout=5).text
    got = {(s.name, s.labels.get("model_version"), s.labels.get("color")): s.value
           for f in text_string_to_metric_families(text) for s in f.samples}
    key = (model["version"], model["color"])
    assert got[("quoteflow_claims_reviewed_claims", *key)] >= 1
    assert ("quoteflow_claims_reviewed_fraud_precision_ratio", *key) in got
    body = json.loads(desk.quoteflow("claims", "outcomes", "--json",
                                     "--database", desk.db_url))
    mine = [o for o in body["outcomes"] if (o["model_version"], o["color"]) == key]
    assert mine and mine[0]["reviewed"] == got[("quoteflow_claims_reviewed_claims", *key)]
    table = desk.quoteflow("claims", "outcomes", "--database", desk.db_url)
    assert table.splitlines()[0].startswith("version  color  reviewed  agreement")


@pytest.mark.expect_log_errors()  # the router's stop logs nothing wrong; the desk warns only
def test_claim_filed_while_triage_is_stopped_is_triaged_after_restart(
        browser: Browser, desk: DeskProcess, stack: Stack, screens: Path) -> None:
    page = session(browser, desk, "alice")
    stack.stop_service("router")
    try:
        fill_claim(page, desk, VALID, [doc("a.pdf", PDF), doc("b.pdf", PDF + b"b"),
                                       doc("c.pdf", PDF + b"c")])
        expect(page.locator("#status")).to_contain_text("Saved, waiting for triage")
        expect(page.locator("#status")).to_contain_text("will be triaged automatically")
        expect(page.locator("#fact-incident_description")).to_have_text(
            VALID["incident_description"])
        page.screenshot(path=str(screens / "08-pending.png"), full_page=True)
    finally:
        stack.start_service("router")
        stack.wait_ready("router")
    for _ in range(40):
        page.reload()
        if "Approved" in page.locator("#status").inner_text():
            break
        page.wait_for_timeout(250)
    expect(page.locator("#status")).to_contain_text("Approved")
    expect(page.locator("#history")).to_contain_text("Triaged by triage: valid")


def test_hostile_input_is_escaped_or_refused(browser: Browser, desk: DeskProcess,
                                            tmp_path: Path, screens: Path) -> None:
    page = session(browser, desk, "alice")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    fill_claim(page, desk, {**VALID, "incident_description": XSS},
               [doc(XSS.replace("/", "") + ".pdf", PDF)])
    expect(page.locator("#fact-incident_description")).to_have_text(XSS)
    expect(page.locator("#documents")).to_contain_text("<script>")
    assert page.evaluate("window.pwned") is None and dialogs == []
    page.screenshot(path=str(screens / "09-xss-escaped.png"), full_page=True)
    stolen = page.url

    before = (desk.stored_files(), page.goto(desk.url + "/claims") and
              page.locator("tbody tr").count())
    big = tmp_path / "huge.pdf"
    big.write_bytes(PDF + bytes(50 * 1024 * 1024))
    for files, says in (([doc("invoice.pdf", b"<!doctype html><h1>pay</h1>")],
                         "invoice.pdf is HTML, not a PDF"),
                        ([str(big)], "huge.pdf is larger than the 10 MiB limit"),
                        ([doc("../../etc/cron.d/x.pdf", PDF)], "is not a plain file name"),
                        ([doc("empty.pdf", b"")], "empty.pdf is empty")):
        fill_claim(page, desk, VALID, files)
        expect(page.locator("#documents-error")).to_contain_text(says)
        expect(page.locator("#documents-error")).to_contain_text("Nothing was stored")
    page.screenshot(path=str(screens / "10-upload-refused.png"), full_page=True)
    page.goto(desk.url + "/claims")
    assert (desk.stored_files(), page.locator("tbody tr").count()) == before

    no_token = page.request.post(desk.url + "/claims", multipart={**VALID})
    assert no_token.status == 403 and "security token is missing" in no_token.text()

    other = session(browser, desk, "bob")
    response = other.goto(stolen)
    assert response is not None and response.status == 404
    expect(other.locator(".error")).to_contain_text("no claim")
