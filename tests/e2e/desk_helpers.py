"""A real desk process beside a real claims stack, and its agents and reviewers over
plain HTTP, for tests/e2e/test_desk.py, test_rollout_claims.py and test_triage_loop.py."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from quoteflow.local.stack import free_port, terminate

PASSWORD = "correct horse battery"
USERS = (("alice", "agent"), ("bob", "agent"), ("rita", "reviewer"))


def days_ago(n: int) -> str:
    return (dt.date.today() - dt.timedelta(days=n)).isoformat()


# three claims whose decisions the trained model is sure of (the generator's processes)
VALID = {"claimant_age": "52", "line": "home", "policy_start_date": days_ago(2000),
         "incident_date": days_ago(6), "report_date": days_ago(5), "claimed_amount": "1850",
         "sum_insured": "300000", "prior_claims_3y": "0", "witnesses": "2",
         "incident_description": "Storm damage to two roof tiles, repaired by a roofer."}
FRAUD = {"claimant_age": "27", "line": "motor", "policy_start_date": days_ago(20),
         "incident_date": days_ago(12), "report_date": days_ago(1), "claimed_amount": "15000",
         "sum_insured": "15000", "prior_claims_3y": "3", "witnesses": "0",
         "police_or_medical_report": "on",
         "incident_description": "The other car came out of nowhere. Nobody else saw it. "
                                 "I had just bought it and paid in cash."}
INCOMPLETE = {"claimant_age": "45", "line": "health", "policy_start_date": days_ago(1500),
              "incident_date": days_ago(4), "report_date": days_ago(3),
              "claimed_amount": "900", "sum_insured": "50000", "prior_claims_3y": "0",
              "witnesses": "0", "incident_description": "Treatment after a fall at home."}


class DeskProcess:
    def __init__(self, workdir: Path, router_url: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_url = f"sqlite:///{workdir}/desk.sqlite3"
        self.documents = workdir / "desk-documents"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("QUOTEFLOW_")},
                    "QUOTEFLOW_DESK_ROUTER_URL": router_url,
                    "QUOTEFLOW_DESK_DATABASE_URL": self.db_url,
                    "QUOTEFLOW_DESK_DOCUMENTS_DIR": str(self.documents),
                    "QUOTEFLOW_DESK_RETRY_INTERVAL": "0.5",
                    "QUOTEFLOW_DESK_TRIAGE_TIMEOUT": "2"}
        self.proc: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str = "") -> str:
        """`quoteflow desk ARGS` against this desk's database."""
        return self.quoteflow("desk", *args, stdin=stdin)

    def quoteflow(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run([sys.executable, "-m", "quoteflow.cli", *args],
                              input=stdin, capture_output=True, text=True, env=self.env,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add_users(self) -> None:
        for name, role in USERS:
            assert f"added {role} {name}" in self.cli("add-user", name, "--role", role,
                                                      "--password-stdin", stdin=PASSWORD)

    def start(self) -> None:
        log = (self.workdir / "desk.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "quoteflow.cli", "desk", "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.proc.poll() is None, (self.workdir / "desk.log").read_text()[-3000:]
            time.sleep(0.2)
        raise RuntimeError("the desk did not become ready")

    def stop(self) -> None:
        if self.proc is not None:
            terminate(self.proc, 15)
            self.proc = None

    def stored_files(self) -> int:
        return sum(1 for p in self.documents.rglob("*") if p.is_file()) \
            if self.documents.exists() else 0


# --- agents and reviewers over plain HTTP: the requests the desk's forms make -----------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STATUS = re.compile(r'class="decision status-([a-z_]+)" id="status"')
_MODEL = re.compile(r"\(model (\S+) version (\S+), (blue|green)\)")
QUEUED = ("fraud_review", "needs_documents")
ACTION_OF_CLASS = {"valid": "approve", "fraud": "reject", "review": "request_documents"}


@dataclass(frozen=True)
class Filed:
    """A claim as the agent's browser sees it after filing: its page."""

    reference: str
    status: str
    version: str | None  # the triage model's, None while pending
    color: str | None


class DeskSession:
    """One logged-in user's browser, without the browser: the login form's
    double-submit cookie, the session cookie, and each form's CSRF token."""

    def __init__(self, desk_url: str, username: str, password: str = PASSWORD) -> None:
        self.client = httpx.Client(base_url=desk_url, timeout=30)
        page = self.client.get("/login")
        token = _token(page)
        done = self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token})
        assert done.status_code == 303 and self.client.cookies.get("desk_session"), \
            f"{username} could not log in: {done.status_code} {done.text[:300]}"
        # the home page (an agent's claims, a reviewer's queue) carries the session's token
        self.csrf = _token(self.client.get("/", follow_redirects=True))

    def file(self, request: dict[str, Any]) -> Filed:
        """File a triage request (the contract's fields, e.g. a generated claim) through
        the new-claim form, with as many small PDFs as it says documents are attached."""
        fields, docs = claim_form(request)
        sent = self.client.post("/claims", data={**fields, "csrf_token": self.csrf},
                                files=docs)
        assert sent.status_code == 303, f"filing refused: {sent.status_code} {sent.text[:500]}"
        page = self.client.get(sent.headers["location"])
        assert page.status_code == 200, page.text[:300]
        return filed(sent.headers["location"].rsplit("/", 1)[1], page.text)

    def decide(self, reference: str, action: str, reason: str) -> None:
        """A reviewer's decision form: approve, reject or request_documents."""
        done = self.client.post(f"/claims/{reference}/decision", data={
            "action": action, "reason": reason, "csrf_token": self.csrf})
        assert done.status_code == 303, f"{reference}: {done.status_code} {done.text[:300]}"

    def close(self) -> None:
        self.client.close()


def _token(page: httpx.Response) -> str:
    m = _CSRF.search(page.text)
    assert page.status_code == 200 and m, f"no form on {page.url}: {page.text[:300]}"
    return m.group(1)


def filed(reference: str, html: str) -> Filed:
    status = _STATUS.search(html)
    model = _MODEL.search(html)
    assert status, html[:500]
    return Filed(reference, status.group(1), model.group(2) if model else None,
                 model.group(3) if model else None)


def claim_form(request: dict[str, Any]) -> tuple[dict[str, str], list[tuple[str, Any]]]:
    """The new-claim form's fields for a triage request, and its documents (the desk
    counts the files uploaded: ``documents_attached`` small distinct PDFs)."""
    fields = {k: str(v) for k, v in request.items()
              if k not in ("claim_reference", "documents_attached", "police_or_medical_report")}
    if request.get("police_or_medical_report"):
        fields["police_or_medical_report"] = "on"
    docs = [("documents", (f"document-{i}.pdf", b"%PDF-1.4\n%" + str(i).encode() + b"\n%%EOF\n",
                           "application/pdf"))
            for i in range(int(request.get("documents_attached", 0)))]
    return fields, docs


class Oracle:
    """Agents file claims through the desk's form, and a scripted reviewer decides each
    claim triage sends to the queue with its true class (the generator's label): the
    reviewers a triage model is judged by, without their mistakes.

    ``claims``: (triage request, true class) in filing order. ``file(n)`` files the next
    ``n`` and returns; ``start()`` files in the background until ``stop()``."""

    def __init__(self, desk_url: str, claims: list[tuple[dict[str, Any], str]],
                 threads: int = 3) -> None:
        self.desk_url, self.claims, self.threads = desk_url, claims, threads
        self.filed: list[Filed] = []
        self.decided: list[tuple[Filed, str]] = []  # (claim, the label the reviewer gave)
        self.failed: list[str] = []
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def file(self, n: int) -> None:
        until = self._next + n
        workers = [threading.Thread(target=self._work, args=(until,), daemon=True)
                   for _ in range(self.threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    def start(self) -> None:
        self._stop.clear()
        self._workers = [threading.Thread(target=self._work, args=(None,), daemon=True)
                         for _ in range(self.threads)]
        for w in self._workers:
            w.start()

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(60)
        self._workers = []

    def _take(self, until: int | None) -> int | None:
        with self._lock:
            if self._stop.is_set() or (until is not None and self._next >= until):
                return None
            if self._next >= len(self.claims):
                self.failed.append(f"only {len(self.claims)} claims to file")
                return None
            self._next += 1
            return self._next - 1

    def _work(self, until: int | None) -> None:
        agent = DeskSession(self.desk_url, "alice")
        reviewer = DeskSession(self.desk_url, "rita")
        try:
            while (i := self._take(until)) is not None:
                request, truth = self.claims[i]
                try:
                    claim = agent.file(request)
                    if claim.status in QUEUED:
                        reviewer.decide(claim.reference, ACTION_OF_CLASS[truth],
                                        f"the claim is {truth} (scripted oracle)")
                except (AssertionError, httpx.HTTPError) as e:
                    with self._lock:
                        self.failed.append(f"claim {i}: {type(e).__name__}: {e}"[:500])
                    continue
                with self._lock:
                    self.filed.append(claim)
                    if claim.status in QUEUED:
                        self.decided.append((claim, truth))
        finally:
            agent.close()
            reviewer.close()

    def reviewed(self, version: str, color: str) -> int:
        """Claims this oracle decided that ``version`` triaged as ``color``."""
        with self._lock:
            return sum(1 for c, _ in self.decided if (c.version, c.color) == (version, color))
