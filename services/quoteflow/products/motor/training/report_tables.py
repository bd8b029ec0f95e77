"""The parts of the training report that describe the severity's make-up and the book's
premiums: point masses, the empirical mean against each candidate, the large-loss split,
and the premium distribution by area and bonus-malus band."""

from __future__ import annotations

from typing import Any

import numpy as np

from quoteflow.actuarial.mean_check import MeanCheck
from quoteflow.actuarial.severity import SeverityFit
from quoteflow.products.motor.training.premiums import SeverityParts
from quoteflow.report_format import markdown_table


def money(v: float) -> str:
    return f"{v:,.0f}" if np.isfinite(v) else "inf"


def point_masses(fit: SeverityFit, amounts: np.ndarray, cur: str) -> list[str]:
    atoms = fit.model.atoms
    if atoms is None:
        return []
    values, counts = np.unique(amounts, return_counts=True)
    left = [(v, c) for v, c in sorted(zip(values, counts, strict=True), key=lambda t: -t[1])
            if v not in atoms.amounts][:3]
    return [
        "### Point masses",
        "",
        f"{atoms.total:.2%} of the claims sit on {len(atoms.amounts)} fixed amounts (a "
        "settlement convention); each is a point mass with its share, and the continuous "
        "model is fitted to the other claims.",
        "",
        markdown_table([f"amount ({cur})", "claims", "probability"],
              [[f"{a:,.2f}", f"{round(p * len(amounts)):,}", f"{p:.4f}"]
               for a, p in zip(atoms.amounts, atoms.probabilities, strict=True)]),
        "",
        "The most frequent amounts left to the continuous part: "
        + ", ".join(f"{v:,.2f} ({c} claims)" for v, c in left) + ".",
        "",
    ]


def mean_check(fits: list[SeverityFit], chosen: SeverityFit, amounts: np.ndarray,
               parts: SeverityParts, check: MeanCheck, cur: str) -> list[str]:
    emp = float(amounts.mean())
    out = [
        f"Empirical mean claim {emp:,.2f} {cur}; each candidate's mean against it: "
        + "; ".join(f"{f.label} {money(f.mean)} ({f.mean / emp - 1:+.1%})" for f in fits)
        + f". The chosen model's mean is {chosen.mean:,.2f} ({chosen.mean / emp - 1:+.1%}).",
        "",
        f"Is the empirical mean evidence against the model's? {check.samples} portfolios of "
        f"{check.claims:,} claims drawn from the chosen model have a median sample mean of "
        f"{check.median_sample_mean:,.2f} {cur}, and {check.share_below:.1%} of them a mean "
        f"at or below the observed {emp:,.2f}. "
        + ("With a heavy tail the sample mean is carried by rare claims and usually falls "
           "short of the model's: the model's mean stands, and the tariff prices it."
           if check.share_below >= 0.05 else
           "Fewer than 5% do: the data argue against the model's mean; review the tail "
           "before pricing with it."),
        "",
    ]
    if parts.threshold is not None:
        above = amounts > parts.threshold
        out += [
            f"Premium severity per claim: attritional (claims up to the large-loss threshold "
            f"{parts.threshold:,.0f} {cur}) **{parts.attritional:,.2f}** + large-loss "
            f"loading (the GPD tail) **{parts.large_loss:,.2f}** = {parts.total:,.2f} {cur}. "
            f"Share of expected cost above the threshold: {parts.large_loss / parts.total:.1%}"
            f" (in the data: {amounts[above].sum() / amounts.sum():.1%} of the cost, "
            f"{above.mean():.2%} of the claims).",
            "",
        ]
    return out


def premium_distribution(dist: dict[str, Any], cur: str) -> list[str]:
    def rows(group: dict[str, Any]) -> list[list[str]]:
        return [[k, f"{v['policies']:,}", f"{v['p5']:,.2f}", f"{v['median']:,.2f}",
                 f"{v['p95']:,.2f}", f"{v['mean']:,.2f}"] for k, v in group.items()]

    head = ["", "policies", f"p5 ({cur})", "median", "p95", "mean"]
    return [
        "### Annual premium over the book (every in-domain policy, one year, as the ONNX "
        "graph prices it)",
        "",
        markdown_table(["all", *head[1:]], rows({"all policies": dist["overall"]})),
        "",
        markdown_table(["area", *head[1:]], rows(dist["by_area"])),
        "",
        markdown_table(["bonus-malus", *head[1:]], rows(dist["by_bonus_malus"])),
        "",
    ]
