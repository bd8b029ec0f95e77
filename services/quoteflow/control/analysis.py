"""Rollout gates: what Prometheus says about Green against Blue over a window.

Every gate states its value, its threshold and its verdict; a gate without enough
requests to judge says ``hold``: a rollout never passes or fails on no data.

Latency and errors are the platform's gates; the shadow comparison's gates are the
product's (``Product.shadow_gates``: a premium ratio for motor pricing, decision
agreement and probability shift for claim triage). ``scope`` holds the label
matchers that pick one model's series (``model="claims"``) when one Prometheus
scrapes several products' stacks.
"""

from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

from quoteflow import metrics
from quoteflow.products.base import ShadowGate

Verdict = Literal["pass", "fail", "hold"]
Query = Callable[[str], float | None]


@dataclass(frozen=True)
class Gates:
    latency_budget_seconds: float = 0.2
    # Green's p99 may exceed Blue's by at most this much (seconds) ...
    latency_margin_seconds: float = 0.02
    # ... and Green's error ratio may exceed Blue's by at most this much.
    error_margin: float = 0.001
    # Overrides the max share of the product's headline shadow gate (motor: share of
    # shadowed quotes whose Green/Blue premium ratio leaves 0.9..1.1); None: the product's.
    divergence_max_share: float | None = None
    min_requests: int = 100
    # Overrides of any product shadow gate's max share, by measure (a retrain expected to
    # differ from Blue, judged by its business outcome instead); divergence wins for the
    # headline gate.
    shadow_max_shares: dict[str, float] = field(default_factory=dict)


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


def _is(label: str, value: object) -> str:
    return f'{label}="{value}"'


def _sel(scope: str, *matchers: str) -> str:
    """A series selector: the given label matchers, then the model's scope."""
    inner = ",".join(m for m in (*matchers, scope) if m)
    return "{" + inner + "}" if inner else ""


def _p99(color: str, w: str, scope: str = "") -> str:
    return ("histogram_quantile(0.99, sum by (le) (rate(quoteflow_quote_duration_seconds_bucket"
            f"{_sel(scope, _is('color', color))}[{w}])))")


def _served(color: str, w: str, scope: str = "") -> str:
    return f"sum(increase(quoteflow_quotes_total{_sel(scope, _is('color', color))}[{w}]))"


def _errors(color: str, w: str, scope: str = "") -> str:
    # A failed call that failover rescued is still that color's error.
    quotes = _sel(scope, _is("color", color), 'status=~"5.."')
    failovers = _sel(scope, _is("from_color", color))
    return (f"(sum(increase(quoteflow_quotes_total{quotes}[{w}])) or vector(0)) + "
            f"(sum(increase(quoteflow_failovers_total{failovers}[{w}])) or vector(0))")


def live_evidence(query: Query, gates: Gates, window_seconds: int,
                  shadow_gates: tuple[ShadowGate, ...] = (), scope: str = "") -> Evidence:
    """Gates for a step with live Green traffic: latency, errors, the product's shadow
    gates (judged only when shadow ran: it is optional once Green serves live)."""
    w = f"{max(window_seconds, 2)}s"
    checks: list[Check] = []
    green_n = query(_served("green", w, scope)) or 0.0
    green_err = query(_errors("green", w, scope)) or 0.0
    attempts = green_n + green_err
    if attempts < gates.min_requests:
        hold = Check("traffic", attempts, gates.min_requests, "hold",
                     f"{attempts:.0f} Green requests in {w}, need {gates.min_requests} to judge")
        return Evidence(w, [hold])
    checks.append(Check("traffic", attempts, gates.min_requests, "pass",
                        f"{attempts:.0f} Green requests"))

    g99, b99 = query(_p99("green", w, scope)), query(_p99("blue", w, scope))
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
    blue_n = query(_served("blue", w, scope)) or 0.0
    blue_err = query(_errors("blue", w, scope)) or 0.0
    blue_ratio = blue_err / (blue_n + blue_err) if blue_n + blue_err > 0 else 0.0
    limit = blue_ratio + gates.error_margin
    checks.append(Check("error_ratio", green_ratio, limit,
                        "fail" if green_ratio > limit else "pass",
                        f"Green {green_ratio:.4f} vs Blue {blue_ratio:.4f} "
                        f"(margin {gates.error_margin})"))
    checks.extend(shadow_checks(query, gates, w, shadow_gates, scope, required=False))
    return Evidence(w, checks)


def _series(gate: ShadowGate, suffix: str, scope: str, *matchers: str) -> str:
    """The histogram series of a shadow measure: its own metric, or the shared one."""
    own = metrics.SHADOW_MEASURES.get(gate.measure)
    if own is not None:
        return f"{next(iter(own.describe())).name}_{suffix}{_sel(scope, *matchers)}"
    return (f"{next(iter(metrics.SHADOW_MEASURE.describe())).name}_{suffix}"
            f"{_sel(scope, _is('measure', gate.measure), *matchers)}")


def shadow_check(query: Query, gates: Gates, w: str, gate: ShadowGate, max_share: float,
                 scope: str = "", required: bool = True) -> Check:
    """The share of shadowed answers not alike (outside (low, high]) against max_share."""
    name = f"shadow_{gate.measure}"
    total = query(f"sum(increase({_series(gate, 'count', scope)}[{w}]))") or 0.0
    if total < gates.min_requests:
        return Check(name, None, max_share, "hold" if required else "pass",
                     f"{total:.0f} shadowed answers in {w}"
                     + (f", need {gates.min_requests} to judge" if required else
                        " (not judged: shadow is optional once Green serves live)"))
    inside = f"sum(increase({_series(gate, 'bucket', scope, _is('le', gate.high))}[{w}]))"
    if gate.low is not None:
        inside += f" - sum(increase({_series(gate, 'bucket', scope, _is('le', gate.low))}[{w}]))"
    share = max(0.0, 1 - (query(inside) or 0.0) / total)
    verdict: Verdict = "fail" if share > max_share else "pass"
    return Check(name, share, max_share, verdict,
                 f"{share:.1%} of {total:.0f} shadowed answers {gate.unlike}")


def shadow_checks(query: Query, gates: Gates, w: str, shadow_gates: tuple[ShadowGate, ...],
                  scope: str = "", required: bool = True) -> list[Check]:
    """Every product shadow gate; the headline one's max share may be overridden."""
    out = []
    for i, gate in enumerate(shadow_gates):
        limit = (gates.divergence_max_share
                 if i == 0 and gates.divergence_max_share is not None
                 else gates.shadow_max_shares.get(gate.measure, gate.max_share))
        out.append(shadow_check(query, gates, w, gate, limit, scope, required))
    return out


def shadow_evidence(query: Query, gates: Gates, window_seconds: int,
                    shadow_gates: tuple[ShadowGate, ...], scope: str = "") -> Evidence:
    """The gate before any live traffic: Green's answers against Blue's, in shadow."""
    w = f"{max(window_seconds, 2)}s"
    checks = shadow_checks(query, gates, w, shadow_gates, scope, required=True)
    failed = query(f"sum(increase(quoteflow_shadow_failed_total{_sel(scope)}[{w}]))") or 0.0
    sent = query("sum(increase(quoteflow_shadow_sent_total"
                 f"{_sel(scope, _is('color', 'green'))}[{w}]))") or 0.0
    if sent >= gates.min_requests:
        ratio = failed / sent
        checks.append(Check("shadow_errors", ratio, gates.error_margin,
                            "fail" if ratio > gates.error_margin else "pass",
                            f"{failed:.0f} of {sent:.0f} shadow calls to Green failed"))
    return Evidence(w, checks)
