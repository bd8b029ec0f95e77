"""Rollout gates: what Prometheus says about Green against Blue over a window.

Every gate states its value, its threshold and its verdict; a gate without enough
requests to judge says ``hold``: a rollout never passes or fails on no data.
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

Verdict = Literal["pass", "fail", "hold"]
Query = Callable[[str], float | None]


@dataclass(frozen=True)
class Gates:
    latency_budget_seconds: float = 0.2
    # Green's p99 may exceed Blue's by at most this much (seconds) ...
    latency_margin_seconds: float = 0.02
    # ... and Green's error ratio may exceed Blue's by at most this much.
    error_margin: float = 0.001
    # share of shadowed quotes whose Green/Blue premium ratio leaves 0.9..1.1
    divergence_max_share: float = 0.05
    min_requests: int = 100


@dataclass(frozen=True)
class Check:
    gate: str
    value: float | None
    threshold: float | None
    verdict: Verdict
    note: str = ""


@dataclass(frozen=True)
class Evidence:
    window: str
    checks: list[Check]

    @property
    def verdict(self) -> Verdict:
        verdicts = {c.verdict for c in self.checks}
        if "fail" in verdicts:
            return "fail"
        if "hold" in verdicts:
            return "hold"
        return "pass"

    def reasons(self) -> str:
        return "; ".join(f"{c.gate}: {c.note}" for c in self.checks if c.verdict != "pass")

    def as_dict(self) -> dict[str, object]:
        return {"window": self.window, "verdict": self.verdict,
                "checks": [asdict(c) for c in self.checks]}


def prometheus_query(base_url: str, timeout: float = 5.0) -> Query:
    """An instant-query function against Prometheus' HTTP API; None for an empty result."""
    def query(expr: str) -> float | None:
        url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = json.loads(r.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus refused {expr!r}: {body.get('error')}")
        result = body["data"]["result"]
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value
    return query


def _p99(color: str, w: str) -> str:
    return ("histogram_quantile(0.99, sum by (le) (rate(quoteflow_quote_duration_seconds_bucket"
            f'{{color="{color}"}}[{w}])))')


def _served(color: str, w: str) -> str:
    return f'sum(increase(quoteflow_quotes_total{{color="{color}"}}[{w}]))'


def _errors(color: str, w: str) -> str:
    # A failed call that failover rescued is still that color's error.
    return (f'(sum(increase(quoteflow_quotes_total{{color="{color}",status=~"5.."}}[{w}])) or '
            f'vector(0)) + (sum(increase(quoteflow_failovers_total{{from_color="{color}"}}'
            f'[{w}])) or vector(0))')


def live_evidence(query: Query, gates: Gates, window_seconds: int) -> Evidence:
    """Gates for a step with live Green traffic: latency, errors, shadow divergence."""
    w = f"{max(window_seconds, 2)}s"
    checks: list[Check] = []
    green_n = query(_served("green", w)) or 0.0
    green_err = query(_errors("green", w)) or 0.0
    attempts = green_n + green_err
    if attempts < gates.min_requests:
        hold = Check("traffic", attempts, gates.min_requests, "hold",
                     f"{attempts:.0f} Green requests in {w}, need {gates.min_requests} to judge")
        return Evidence(w, [hold])
    checks.append(Check("traffic", attempts, gates.min_requests, "pass",
                        f"{attempts:.0f} Green requests"))

    g99, b99 = query(_p99("green", w)), query(_p99("blue", w))
    if g99 is None:
        checks.append(Check("latency_p99", None, gates.latency_budget_seconds, "hold",
                            "no Green latency samples"))
    elif g99 > gates.latency_budget_seconds:
        checks.append(Check("latency_p99", g99, gates.latency_budget_seconds, "fail",
                            f"Green p99 {g99 * 1000:.1f} ms over the "
                            f"{gates.latency_budget_seconds * 1000:.0f} ms budget"))
    elif b99 is not None and g99 > b99 + gates.latency_margin_seconds:
        checks.append(Check("latency_p99", g99, b99 + gates.latency_margin_seconds, "fail",
                            f"Green p99 {g99 * 1000:.1f} ms vs Blue {b99 * 1000:.1f} ms: more "
                            f"than {gates.latency_margin_seconds * 1000:.0f} ms worse"))
    else:
        checks.append(Check("latency_p99", g99, gates.latency_budget_seconds, "pass",
                            f"Green p99 {g99 * 1000:.1f} ms"
                            + (f", Blue {b99 * 1000:.1f} ms" if b99 is not None else "")))

    green_ratio = green_err / attempts
    blue_n = query(_served("blue", w)) or 0.0
    blue_err = query(_errors("blue", w)) or 0.0
    blue_ratio = blue_err / (blue_n + blue_err) if blue_n + blue_err > 0 else 0.0
    limit = blue_ratio + gates.error_margin
    checks.append(Check("error_ratio", green_ratio, limit,
                        "fail" if green_ratio > limit else "pass",
                        f"Green {green_ratio:.4f} vs Blue {blue_ratio:.4f} "
                        f"(margin {gates.error_margin})"))
    checks.append(divergence_check(query, gates, w, required=False))
    return Evidence(w, checks)


def divergence_check(query: Query, gates: Gates, w: str, required: bool) -> Check:
    total = query(f"sum(increase(quoteflow_shadow_premium_ratio_count[{w}]))") or 0.0
    if total < gates.min_requests:
        return Check("shadow_divergence", None, gates.divergence_max_share,
                     "hold" if required else "pass",
                     f"{total:.0f} shadowed quotes in {w}"
                     + (f", need {gates.min_requests} to judge" if required else
                        " (not judged: shadow is optional once Green serves live)"))
    inside = query(
        f'sum(increase(quoteflow_shadow_premium_ratio_bucket{{le="1.1"}}[{w}])) - '
        f'sum(increase(quoteflow_shadow_premium_ratio_bucket{{le="0.9"}}[{w}]))') or 0.0
    share = max(0.0, 1 - inside / total)
    verdict: Verdict = "fail" if share > gates.divergence_max_share else "pass"
    return Check("shadow_divergence", share, gates.divergence_max_share, verdict,
                 f"{share:.1%} of {total:.0f} shadowed quotes moved by more than 10%")


def shadow_evidence(query: Query, gates: Gates, window_seconds: int) -> Evidence:
    """The gate before any live traffic: Green's prices against Blue's, in shadow."""
    w = f"{max(window_seconds, 2)}s"
    checks = [divergence_check(query, gates, w, required=True)]
    failed = query(f"sum(increase(quoteflow_shadow_failed_total[{w}]))") or 0.0
    sent = query(f'sum(increase(quoteflow_shadow_sent_total{{color="green"}}[{w}]))') or 0.0
    if sent >= gates.min_requests:
        ratio = failed / sent
        checks.append(Check("shadow_errors", ratio, gates.error_margin,
                            "fail" if ratio > gates.error_margin else "pass",
                            f"{failed:.0f} of {sent:.0f} shadow calls to Green failed"))
    return Evidence(w, checks)
