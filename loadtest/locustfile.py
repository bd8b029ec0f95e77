"""Realistic quote traffic for Locust: returning customers, and some bad requests.

Headless profile (50 users, 10 spawned a second, one minute), against a running
stack (`quoteflow up`):

    locust -f loadtest/locustfile.py --headless -u 50 -r 10 -t 60s \\
        --host http://127.0.0.1:8000

Each user is a website session: it prices a quote for a customer from a pool of
5,000 (re-quoting keeps the customer key, so sticky assignment is exercised and a
rollout's Green share sees the same people again), sometimes with another car.
About 5% of requests are invalid the way web forms go wrong; those must get a 422
with field errors, and a 200 or 5xx on them counts as a failure. Shadow variety
comes from the pool: every age band, brand and area, so Blue and Green disagree.

Tunables (environment): QUOTEFLOW_LOCUST_INVALID_SHARE (default 0.05),
QUOTEFLOW_LOCUST_POOL (default 5000), QUOTEFLOW_LOCUST_THINK_MAX (seconds between a
user's requests, default 0.5). Locust measures a closed loop; for coordinated-
omission-free latency at a fixed rate use `quoteflow bench`.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, between, task

from quoteflow.products.motor.requests import CustomerPool

INVALID_SHARE = float(os.environ.get("QUOTEFLOW_LOCUST_INVALID_SHARE", "0.05"))
POOL = CustomerPool(int(os.environ.get("QUOTEFLOW_LOCUST_POOL", "5000")))
THINK_MAX = float(os.environ.get("QUOTEFLOW_LOCUST_THINK_MAX", "0.5"))
HEADERS = {"content-type": "application/json"}


class QuoteVisitor(FastHttpUser):
    wait_time = between(0.0, THINK_MAX)

    @task
    def quote(self) -> None:
        if POOL.rng.random() < INVALID_SHARE:
            kind, body = POOL.invalid()
            with self.client.post("/v1/quote", json=body, headers=HEADERS,
                                  name=f"/v1/quote [invalid:{kind}]",
                                  catch_response=True) as r:
                if r.status_code == 422 and r.json().get("detail"):
                    r.success()
                else:
                    r.failure(f"expected 422 with field errors, got {r.status_code}")
            return
        with self.client.post("/v1/quote", json=POOL.quote(), headers=HEADERS,
                              name="/v1/quote", catch_response=True) as r:
            if r.status_code == 200 and r.json().get("premium", 0) > 0:
                r.success()
            else:
                r.failure(f"status {r.status_code}: {r.text[:200]}")
