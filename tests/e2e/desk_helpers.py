"""A real desk process beside a real claims stack, for tests/e2e/test_desk.py."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

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
