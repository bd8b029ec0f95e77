"""Outcome gates: a rollout judged by what customers and reviewers did, beside Prometheus.

The product names its gate (``Product.outcome_gate``):

- ``conversion`` (motor): quotes and binds per color from the ledger (SQLite or
  PostgreSQL, through its ``export``), statistics in conversion.py. A quote counts once
  it is ``horizon`` old and converts when bound within ``horizon`` of its quote (a bind
  can come any time in the quote's validity, a delayed outcome): every quote gets the
  same time to bind, whatever color and step it came at. Mean premium by color is
  reported beside it, not gated.
- ``reviewers`` (claims): reviewer outcomes per version and color from the desk's
  /metrics (``quoteflow_claims_reviewed_*``, computed from its database when scraped).
  The desk's own endpoint, not Prometheus or the desk's database: the counts need no
  scrape config to reach the rollout and no database credentials in the control plane.
  Statistics in desk/outcome_gate.py, each test at its share of this look's level.

Looks: the k-th look that tests (see conversion.alpha_at) is counted from the
rollout's history. Where the source cannot be read the gate holds, saying why.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, cast

from prometheus_client.parser import text_string_to_metric_families

from quoteflow.control.analysis import Check, Verdict
from quoteflow.control.conversion import ConversionRule, Counts, alpha_at, judge
from quoteflow.control.rollout_state import RolloutState
from quoteflow.desk.outcome_gate import GateRule, judge_all
from quoteflow.desk.outcome_metrics import GAUGES, PREFIX
from quoteflow.desk.outcomes import Outcome
from quoteflow.ledger import LedgerSettings, QuoteRecord, make_store

GATE_NAMES = ("conversion", "reviewer_agreement", "reviewer_fraud_recall")
# the rollout command's options that OutcomeSources holds, by parameter name
OPTION_NAMES = ("ledger_url", "desk_url", "conversion_margin", "conversion_horizon",
                "reviewer_margin", "reviewer_min_reviewed", "skip_outcomes")
REDACTED = "***"


@dataclass(frozen=True)
class OutcomeSources:
    """Where the outcome gates read, and their rules (the rollout command's options)."""

    ledger_url: str | None = None
    desk_url: str | None = None
    conversion: ConversionRule = field(default_factory=ConversionRule)
    reviewers: GateRule = field(default_factory=GateRule)
    skip: bool = False  # a stack without customers or reviewers: said in the evidence

    def checks(self, gate: str | None, state: RolloutState,
               now: dt.datetime | None = None) -> list[Check]:
        """The checks of the product's outcome gate (none when it has none)."""
        if gate is None:
            return []
        if self.skip:
            return [Check(gate, None, None, "pass", "not judged (--no-outcome-gate)")]
        versions = {"blue": state.blue_version, "green": state.green_version}
        if gate == "conversion":
            return conversion_checks(self.ledger_url, state.model, versions,
                                     live_since(state), now or dt.datetime.now(dt.UTC),
                                     self.conversion, state.history)
        if gate == "reviewers":
            return reviewer_checks(self.desk_url, versions, self.reviewers, state.history)
        raise ValueError(f"unknown outcome gate {gate!r}: conversion or reviewers")

    def saved(self) -> dict[str, Any]:
        """What the rollout state keeps, so that `resume` and `promote` judge as `start`
        did. A URL's password is never kept (the state may be a ConfigMap)."""
        return {"ledger_url": redact(self.ledger_url), "desk_url": redact(self.desk_url),
                "conversion": asdict(self.conversion), "reviewers": asdict(self.reviewers),
                "skip": self.skip}

    @classmethod
    def resumed(cls, saved: dict[str, Any], given: OutcomeSources,
                explicit: set[str]) -> OutcomeSources:
        """The sources a later command uses: each option given on its command line
        (``explicit``, by parameter name), else the one saved at start, else ``given``'s
        default (its environment). A saved URL whose password was left out is taken from
        the command or its environment; where neither has one, it is an error."""
        if not saved:
            return given  # a rollout started before the options were saved

        def url(name: str) -> str | None:
            kept, now = saved.get(name), cast(str | None, getattr(given, name))
            if name in explicit or kept is None:
                return now
            if REDACTED not in kept:
                return str(kept)
            if now is None:
                option = "--ledger" if name == "ledger_url" else "--desk"
                raise ValueError(f"the rollout was started with {option} {kept}; its password "
                                 f"is not kept in the rollout state: pass {option} again")
            return now

        conversion = ConversionRule(**saved["conversion"])
        if "conversion_margin" in explicit:
            conversion = replace(conversion, margin=given.conversion.margin)
        if "conversion_horizon" in explicit:
            conversion = replace(conversion, horizon_seconds=given.conversion.horizon_seconds)
        reviewers = GateRule(**saved["reviewers"])
        if "reviewer_margin" in explicit:
            reviewers = replace(reviewers, margin=given.reviewers.margin)
        if "reviewer_min_reviewed" in explicit:
            reviewers = replace(reviewers, min_reviewed=given.reviewers.min_reviewed)
        skip = given.skip if "skip_outcomes" in explicit else bool(saved["skip"])
        return cls(url("ledger_url"), url("desk_url"), conversion, reviewers, skip)


def redact(url: str | None) -> str | None:
    """``url`` without its password (kept as ``***``), or as it is when it has none."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:{REDACTED}@{host}" + (f":{parts.port}" if parts.port
                                                             else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def live_since(state: RolloutState) -> dt.datetime:
    """When Green first took live traffic: the shadow phase's pass (quotes before it are
    all Blue's), else the rollout's start."""
    passed = [h["time"] for h in state.history if h.get("step") == -1
              and h.get("decision") == "pass"]
    return dt.datetime.fromisoformat(passed[0] if passed else state.started_at)


@dataclass
class Tally:
    quotes: int = 0
    binds: int = 0
    premium: dict[str, float] = field(default_factory=dict)  # currency -> sum
    priced: dict[str, int] = field(default_factory=dict)  # currency -> quotes

    def add(self, rec: QuoteRecord, horizon: dt.timedelta) -> None:
        self.quotes += 1
        self.binds += rec.bound_at is not None and rec.bound_at - rec.quoted_at <= horizon
        self.premium[rec.currency] = self.premium.get(rec.currency, 0.0) + float(rec.premium)
        self.priced[rec.currency] = self.priced.get(rec.currency, 0) + 1

    def mean_premium(self) -> str:
        return ", ".join(f"{self.premium[c] / n:,.2f} {c}" for c, n in self.priced.items()) \
            or "no quotes"


def tally(records: Iterable[QuoteRecord], model: str, versions: dict[str, str],
          horizon: dt.timedelta) -> dict[str, Tally]:
    """Per color, the model's quotes by that color's version of the rollout."""
    out = {color: Tally() for color in versions}
    for rec in records:
        count(out, rec, model, versions, horizon)
    return out


def count(out: dict[str, Tally], rec: QuoteRecord, model: str, versions: dict[str, str],
          horizon: dt.timedelta) -> None:
    if rec.model_name == model and versions.get(rec.color) == rec.model_version:
        out[rec.color].add(rec, horizon)


def read_ledger(url: str, model: str, versions: dict[str, str], since: dt.datetime,
                until: dt.datetime, horizon: dt.timedelta) -> dict[str, Tally]:
    """Quotes made in [since, until) from the ledger at ``url``; raises when unreadable."""
    store = make_store(LedgerSettings(url=url, timeout=30.0), create=False)

    async def main() -> dict[str, Tally]:
        await store.open()
        try:
            out = {color: Tally() for color in versions}
            async for rec in store.export(since, until):  # a page at a time, not all held
                count(out, rec, model, versions, horizon)
            return out
        finally:
            await store.close()
    return asyncio.run(main())


def looks_tested(history: list[dict[str, Any]], gate: str) -> int:
    """How many earlier looks tested this gate (a check with a value): alpha spent."""
    return sum(1 for h in history for c in (h.get("evidence") or {}).get("checks", ())
               if c.get("gate") == gate and c.get("value") is not None)


def conversion_checks(url: str | None, model: str, versions: dict[str, str],
                      since: dt.datetime, now: dt.datetime, rule: ConversionRule,
                      history: list[dict[str, Any]]) -> list[Check]:
    """The conversion gate's check and the mean premium by color beside it."""
    horizon = dt.timedelta(seconds=rule.horizon_seconds)
    if url is None:
        return [Check("conversion", None, -rule.margin, "hold",
                      "no ledger to read: pass --ledger (or $QUOTEFLOW_CLI_LEDGER_URL)")]
    until = now - horizon
    if until <= since:
        return [Check("conversion", None, -rule.margin, "hold",
                      f"no quote of this rollout is {horizon} old yet (--conversion-horizon)")]
    try:
        by_color = read_ledger(url, model, versions, since, until, horizon)
    except Exception as e:  # any store or URL problem: hold and say it, never fail
        return [Check("conversion", None, -rule.margin, "hold",
                      f"cannot read the ledger: {type(e).__name__}: {e}"[:300])]
    g, b = by_color["green"], by_color["blue"]
    v = judge(Counts(g.quotes, g.binds), Counts(b.quotes, b.binds), rule,
              looks_tested(history, "conversion") + 1)
    window = f"quotes {since:%H:%M:%S}-{until:%H:%M:%S}Z, bound within {horizon}"
    premium = Check("mean_premium", None, None, "pass",
                    f"Green {g.mean_premium()}, Blue {b.mean_premium()} (reported, not gated)")
    return [Check("conversion", v.effect, -rule.margin, v.state, f"{v.why}; {window}"),
            premium]


def desk_outcomes(desk_url: str, timeout: float = 10.0) -> dict[tuple[str, str], Outcome]:
    """{(version, color): Outcome} from the desk's /metrics."""
    with urllib.request.urlopen(desk_url.rstrip("/") + "/metrics", timeout=timeout) as r:
        text = r.read().decode()
    attr = {f"{PREFIX}_{suffix}": a for suffix, _, a in GAUGES}
    values: dict[tuple[str, str], dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name in attr:
                key = (s.labels["model_version"], s.labels["color"])
                values.setdefault(key, {})[attr[s.name]] = s.value
    counts = ("reviewed", "agreed", "fraud_flagged", "fraud_confirmed", "fraud_caught")
    return {k: Outcome(k[0], k[1], cost=0.0, **{c: int(v.get(c, 0)) for c in counts})
            for k, v in values.items()}


def reviewer_checks(desk_url: str | None, versions: dict[str, str], rule: GateRule,
                    history: list[dict[str, Any]]) -> list[Check]:
    """The claims gate: agreement with reviewers and fraud recall, Green against Blue."""
    if desk_url is None:
        return [Check("reviewer_agreement", None, -rule.margin, "hold",
                      "no desk to read: pass --desk (or $QUOTEFLOW_CLI_DESK_URL)")]
    try:
        outcomes = desk_outcomes(desk_url)
    except Exception as e:  # the desk down or not a desk: hold and say it, never fail
        return [Check("reviewer_agreement", None, -rule.margin, "hold",
                      f"cannot read the desk's outcomes: {type(e).__name__}: {e}"[:300])]
    none = {c: Outcome(versions[c], c, 0, 0, 0, 0, 0, 0.0) for c in versions}
    green = outcomes.get((versions["green"], "green"), none["green"])
    blue = outcomes.get((versions["blue"], "blue"), none["blue"])
    checks = []
    for measure in ("agreement", "fraud_recall"):
        gate = f"reviewer_{measure}"
        level = alpha_at(looks_tested(history, gate) + 1, rule.alpha) / 2  # two measures
        v = judge_all(green, blue, replace(rule, alpha=level, max_looks=1), (measure,))[0]
        state: Verdict = "pass" if v.state == "pass" else "fail" if v.state == "fail" \
            else "hold"  # waiting and undecided: the data cannot tell yet
        checks.append(Check(gate, v.difference.estimate if v.difference else None,
                            -rule.margin, state, v.why))
    return checks
