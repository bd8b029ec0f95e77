"""Training on reviewed claims (`quoteflow train --product claims --labels FILE`).

The reviewed claims (labels.py) are split by a hash of their reference: most join the
generated training rows with the configured weight; the rest are held out, and the new
version and the current one (the registry's Production version, else its newest) are
both judged on them against the reviewers: agreement, fraud precision and recall, and
the cost under the product's cost matrix. Held-out claims were never trained on by the
new version; the current version may have been, if it was trained on an earlier label
set, which favours it: the comparison is conservative for the new version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from quoteflow.products.claims import decision, model_io
from quoteflow.products.claims import features as F
from quoteflow.products.claims.labels import LabelSet

FRAUD = F.CLASSES.index("fraud")


@dataclass(frozen=True)
class Reviewed:
    labels: LabelSet
    weight: float
    x_train: np.ndarray
    y_train: np.ndarray
    x_holdout: np.ndarray
    y_holdout: np.ndarray

    def summary(self) -> dict[str, Any]:
        return {**self.labels.summary(), "weight": self.weight,
                "trained_on": len(self.y_train), "held_out": len(self.y_holdout),
                "held_out_by": "sha256(claim_reference) below the holdout share"}


def prepare(labels: LabelSet, weight: float, holdout: float) -> Reviewed:
    x, y = labels.xy()
    out = labels.held_out(holdout)
    return Reviewed(labels, weight, x[~out], y[~out], x[out], y[out])


def fit_rows(x: np.ndarray, y: np.ndarray, reviewed: Reviewed | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Generated training rows (weight 1) plus the reviewed ones (the configured weight)."""
    if reviewed is None or not len(reviewed.y_train):
        return x, y, None
    w = np.concatenate([np.ones(len(y)), np.full(len(reviewed.y_train), reviewed.weight)])
    return (np.vstack([x, reviewed.x_train]), np.concatenate([y, reviewed.y_train]), w)


def figures(y: np.ndarray, d: np.ndarray, cost: np.ndarray) -> dict[str, Any]:
    """A version's decisions against the reviewers' labels (None where undefined)."""
    n, flagged, confirmed = len(y), int(np.sum(d == FRAUD)), int(np.sum(y == FRAUD))
    caught = int(np.sum((d == FRAUD) & (y == FRAUD)))
    return {"rows": n, "agreement": float(np.mean(y == d)) if n else None,
            "fraud_precision": caught / flagged if flagged else None,
            "fraud_recall": caught / confirmed if confirmed else None,
            "cost_per_claim": decision.realised_cost(y, d, cost) if n else None}


def judge(onnx_bytes: bytes, reviewed: Reviewed, cost: np.ndarray) -> dict[str, Any]:
    if not len(reviewed.y_holdout):
        return figures(reviewed.y_holdout, reviewed.y_holdout, cost)
    d = model_io.run(onnx_bytes, reviewed.x_holdout)["decision"]
    return figures(reviewed.y_holdout, np.asarray(d).reshape(-1), cost)


def current(registry: Any, name: str, reviewed: Reviewed, cost: np.ndarray
            ) -> dict[str, Any]:
    """The current version's figures on the held-out claims, or why there are none. The
    current one is the Production version, else the Staging one, else the newest not
    Archived: an archived version (one a rollout rejected) is nobody's yardstick."""
    found = current_version(registry, name)
    if found is None:
        return {"version": None, "why": f"no version of {name} registered yet, or every "
                                        "one archived"}
    version, stage = found
    mv, onnx_bytes = registry.load(name, version)
    if mv.metadata.get("feature_schema_version") != F.FEATURE_SCHEMA_VERSION:
        return {"version": mv.version, "why": "another feature schema version: not comparable"}
    return {"version": mv.version, "stage": stage, **judge(onnx_bytes, reviewed, cost)}


def current_version(registry: Any, name: str) -> tuple[str, str] | None:
    """(version, why it is the current one), or None when there is none to compare with."""
    for stage in ("Production", "Staging"):
        if versions := registry.in_stage(name, stage):
            return max(versions, key=int), stage
    live = [v for v in registry.versions(name) if registry.stage_of(name, v) != "Archived"]
    return (max(live, key=int), "newest") if live else None


def add_to_metadata(meta: dict[str, Any], reviewed: Reviewed, new: dict[str, Any],
                    now: dict[str, Any]) -> None:
    """The label set (``labels``; its sha256 also a parameter, so MLflow shows it) and
    the held-out comparison (``metrics.reviewed_holdout``, logged to MLflow as metrics)."""
    meta["labels"] = reviewed.summary()
    meta["params"] = {**meta["params"], "labels_sha256": meta["labels"]["sha256"],
                      "reviewed_weight": reviewed.weight}
    meta["metrics"]["reviewed_holdout"] = {"new": new, "current": now}


def report_section(meta: dict[str, Any], currency: str) -> list[str]:
    """The training report's part on reviewed claims (Markdown lines; none without)."""
    from quoteflow.report_format import markdown_table

    labels, held = meta.get("labels"), meta["metrics"].get("reviewed_holdout")
    if not labels or not held:
        return []

    def row(who: str, f: dict[str, Any]) -> list[str]:
        def pct(v: Any) -> str:
            return "-" if v is None else f"{100 * v:.1f}%"

        cost = "-" if f.get("cost_per_claim") is None else f"{f['cost_per_claim']:,.2f}"
        return [who, str(f.get("rows", "-")), pct(f.get("agreement")),
                pct(f.get("fraud_precision")), pct(f.get("fraud_recall")), cost]

    now = held["current"]
    rows = [row("this version", held["new"])]
    rows.append(row(f"current (v{now['version']}, {now.get('stage', '')})", now)
                if "rows" in now else [f"current: {now['why']}", "", "", "", "", ""])
    return ["## Reviewed claims", "",
            f"{labels['count']} reviewed claims from {labels['source']} (decided "
            f"{labels['first_decided_at']} to {labels['last_decided_at']}, sha256 "
            f"`{labels['sha256']}`): {labels['trained_on']} trained on with weight "
            f"{labels['weight']:g}, {labels['held_out']} held out ({labels['held_out_by']}). "
            "On the held-out claims, against the reviewers' decisions:", "",
            markdown_table(["version", "claims", "agreement", "fraud precision",
                            "fraud recall", f"cost/claim ({currency})"], rows), ""]


def summary_line(meta: dict[str, Any], currency: str) -> str:
    """One line for `quoteflow train`: the new version against the current on held-out
    reviewed claims."""
    found = meta.get("metrics", {}).get("reviewed_holdout")
    if not found:
        return ""
    new, now = found["new"], found["current"]

    def f(v: Any, pct: bool = True) -> str:
        return "-" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:,.2f}")

    if not new["rows"]:
        return "    no reviewed claim held out: no comparison on reviewed claims"
    against = (f"current v{now['version']}" if "rows" in now
               else f"no current version ({now['why']})")
    line = (f"    {new['rows']} held-out reviewed claims: agreement {f(new['agreement'])}, "
            f"fraud recall {f(new['fraud_recall'])}, cost/claim "
            f"{f(new['cost_per_claim'], False)} {currency}")
    if "rows" in now:
        line += (f"; {against}: {f(now['agreement'])}, {f(now['fraud_recall'])}, "
                 f"{f(now['cost_per_claim'], False)} {currency}")
    else:
        line += f"; {against}"
    return line
