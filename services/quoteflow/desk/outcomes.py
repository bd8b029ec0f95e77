"""Claim triage judged by its reviewers: each reviewer decision joined to the triage
answer it reviewed, and per model version and color how triage fared against them.

Pure functions over rows the store returns (store.decisions, store.triage_events).

Who is counted: only claims a reviewer decided on, and reviewers see only what triage
sent to the queue (fraud, review). A claim triage paid at once never meets a reviewer,
so "fraud recall" here is recall among reviewed claims, not among all claims: a fraud
paid at once is invisible to it. The cost of a decision is the product's cost matrix
at (the reviewer's label, triage's decision), i.e. the reviewer taken as the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

# Series exported per (version, color): the newest versions only, so that a long-lived
# desk's metrics stay bounded whatever its history holds.
MAX_VERSIONS = 10
FRAUD = "fraud"


def join(decisions: Sequence[dict[str, Any]], triages: Iterable[dict[str, Any]]
         ) -> list[dict[str, Any]]:
    """Each reviewer decision with the triage answer it reviewed: the claim's last
    'triaged' event before it (event ids order a claim's history). An event recorded
    before answers were kept in events falls back to the claim's stored answer."""
    by_claim: dict[str, list[dict[str, Any]]] = {}
    for t in sorted(triages, key=lambda t: t["id"]):
        by_claim.setdefault(t["claim"], []).append(t)
    out = []
    for d in decisions:
        before = [t for t in by_claim.get(d["reference"], ()) if t["id"] < d["event_id"]]
        detail = (before[-1].get("detail") or {}) if before else {}
        if detail.get("model") and detail.get("probabilities"):
            answer = {k: detail[k] for k in ("decision", "probabilities", "model")}
        else:
            answer = {k: d[k] for k in ("decision", "probabilities", "model")}
        out.append({**d, **answer})
    return out


@dataclass(frozen=True)
class Outcome:
    """Triage against reviewers for one model version serving as one color."""

    model_version: str
    color: str
    reviewed: int  # reviewer decisions joined to an answer of this version and color
    agreed: int  # ... where triage's decision was the reviewer's label
    fraud_flagged: int  # triage said fraud
    fraud_confirmed: int  # the reviewer said fraud (rejected the claim)
    fraud_caught: int  # both
    cost: float  # sum of cost[reviewer label, triage decision], in the cost's currency

    @property
    def agreement(self) -> float:
        return self.agreed / self.reviewed if self.reviewed else float("nan")

    @property
    def fraud_precision(self) -> float:
        return self.fraud_caught / self.fraud_flagged if self.fraud_flagged else float("nan")

    @property
    def fraud_recall(self) -> float:
        return (self.fraud_caught / self.fraud_confirmed if self.fraud_confirmed
                else float("nan"))

    @property
    def cost_per_claim(self) -> float:
        return self.cost / self.reviewed if self.reviewed else float("nan")

    def as_json(self) -> dict[str, Any]:
        ratios = {k: _finite(getattr(self, k)) for k in
                  ("agreement", "fraud_precision", "fraud_recall", "cost_per_claim")}
        return {**asdict(self), **ratios}


def _finite(v: float) -> float | None:
    return None if v != v else round(v, 6)  # NaN -> null in JSON


def _version_key(v: str) -> tuple[int, int | str]:
    return (0, int(v)) if v.isdigit() else (1, v)


def summarise(rows: Iterable[dict[str, Any]], label_of: Mapping[str, str],
              classes: Sequence[str], cost: Sequence[Sequence[float]]) -> list[Outcome]:
    """Per (model version, color) of the joined rows (``join``): ``label_of`` maps a
    reviewer action to the class it gives the claim; ``cost[true][decided]`` in
    ``classes`` order. Newest version first, blue before green; at most MAX_VERSIONS
    versions. Rows without a triage answer (a claim refused by triage) are left out."""
    acc: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        model = r.get("model") or {}
        if not model or r.get("decision") not in classes or r["action"] not in label_of:
            continue
        label, said = label_of[r["action"]], r["decision"]
        a = acc.setdefault((str(model["version"]), str(model["color"])), [0] * 6)
        a[0] += 1
        a[1] += label == said
        a[2] += said == FRAUD
        a[3] += label == FRAUD
        a[4] += label == FRAUD and said == FRAUD
        a[5] += float(cost[classes.index(label)][classes.index(said)])
    versions = sorted({v for v, _ in acc}, key=_version_key, reverse=True)[:MAX_VERSIONS]
    return [Outcome(v, c, int(n[0]), int(n[1]), int(n[2]), int(n[3]), int(n[4]), float(n[5]))
            for v in versions for c in ("blue", "green") if (n := acc.get((v, c)))]


def table(outcomes: Sequence[Outcome], currency: str) -> str:
    """A plain-text table for the terminal."""
    if not outcomes:
        return "no reviewer decision on a triaged claim yet"

    def pct(v: float) -> str:
        return "-" if v != v else f"{100 * v:.1f}%"

    head = ("version", "color", "reviewed", "agreement", "fraud precision", "fraud recall",
            f"cost/claim ({currency})")
    body = [(o.model_version, o.color, str(o.reviewed), pct(o.agreement),
             pct(o.fraud_precision), pct(o.fraud_recall),
             "-" if o.cost_per_claim != o.cost_per_claim else f"{o.cost_per_claim:,.2f}")
            for o in outcomes]
    widths = [max(len(r[i]) for r in (head, *body)) for i in range(len(head))]
    return "\n".join("  ".join(cell.rjust(w) if i > 1 else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
                     .rstrip() for r in (head, *body))
