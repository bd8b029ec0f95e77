"""Motor pricing's answer: graph outputs to premium and breakdown, live and in batch.

The one place a premium's breakdown is shaped: inference's answer rows and batch
scoring's output columns both come from here, so they cannot drift apart.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from functools import cache
from typing import Any

import numpy as np

from quoteflow.actuarial.guardrails import Fired, Guarded, Guardrails, new_business, renewal
from quoteflow.products.motor.explain import FACTOR_NAMES


def loadings(metadata: dict[str, Any]) -> dict[str, float]:
    p = metadata["pricing"]
    return {"expense_loading": float(p["expense_loading"]),
            "profit_loading": float(p["profit_loading"]),
            "minimum_premium": float(p["minimum_premium"])}


def minimum_applied(premium: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    """The floor decided the price (a premium equal to the minimum counts as floored)."""
    return premium <= float(metadata["pricing"]["minimum_premium"])


def money(premium: np.ndarray, metadata: dict[str, Any]) -> list[Decimal]:
    """Premiums rounded half-up to the currency's unit (pricing.minor_unit), exactly:
    the figure quoted, recorded in the ledger and written by batch scoring."""
    unit = Decimal(1).scaleb(-int(metadata["pricing"].get("minor_unit", 2)))
    # repr: the shortest text that reads back as the same float, so 0.125 stays 0.125;
    # precision for any finite float64 (the default 28 digits cannot quantize 1e30)
    wide = Context(prec=400)
    return [Decimal(repr(float(p))).quantize(unit, ROUND_HALF_UP, wide) for p in premium]


def guardrails(metadata: dict[str, Any]) -> Guardrails:
    """The artifact's guardrails (pricing.guardrails; the floor is the minimum premium)."""
    p = metadata["pricing"]
    g = p.get("guardrails", {})
    return _guardrails(g.get("ceiling"), g.get("renewal_cap"), g.get("enbp", True),
                       p["minimum_premium"], p.get("minor_unit", 2))


@cache  # once per artifact, not per quote: parsing them costs ~4 us a call
def _guardrails(ceiling: float | None, renewal_cap: float | None, enbp: bool,
                floor: float, minor_unit: int) -> Guardrails:
    return Guardrails.of({"ceiling": ceiling, "renewal_cap": renewal_cap, "enbp": enbp,
                          "floor": floor, "minor_unit": minor_unit})


def guarded(out: dict[str, np.ndarray], metadata: dict[str, Any]) -> list[Guarded]:
    """Each row's new-business price: the graph's premium held by the guardrails. The
    graph floors at the minimum premium itself; a floored row's uncapped price is its
    loaded pure premium, so the floor is stated as a rule like the others."""
    g = guardrails(metadata)
    floored = minimum_applied(out["premium"], metadata)
    loaded = out["pure_premium"] * float(metadata["pricing"]["loading_factor"])
    before = money(np.where(floored, loaded, out["premium"]), metadata)
    return [new_business(b, g) for b in before]


def renewed(prediction: dict[str, Any], prior: Decimal,
            rules: dict[str, Any]) -> dict[str, Any]:
    """A new-business prediction made a renewal of a bound ``prior`` premium; ``rules``
    as ``answer_extras`` states them (the artifact's, so the artifact fixes the price)."""
    g = Guardrails.of(rules)
    held = prediction["breakdown"]["guardrails"]
    nb = Guarded(Decimal(repr(float(prediction["premium"]))),
                 Decimal(repr(float(held["uncapped_premium"]))),
                 tuple(Fired(r["rule"], Decimal(repr(float(r["by"]))))
                       for r in held["rules"]))
    out = renewal(nb, prior, g)
    return {**prediction, "premium": float(out.premium),
            "breakdown": {**prediction["breakdown"], "guardrails": out.as_breakdown()}}


def predictions(out: dict[str, np.ndarray], metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """One {premium, currency, breakdown} a row: the premium in the currency's unit, the
    breakdown's figures as the graph computed them."""
    base = loadings(metadata)
    currency = str(metadata["pricing"]["currency"])
    floored = minimum_applied(out["premium"], metadata)
    held = guarded(out, metadata)
    return [{"premium": float(held[i].premium), "currency": currency, "breakdown": {
        "expected_frequency": float(out["frequency"][i]),
        "base_frequency": float(out["base_frequency"][i]),
        "rating_factors": dict(zip(FACTOR_NAMES, map(float, out["factor_effects"][i]),
                                   strict=True)),
        "attritional_severity": float(out["attritional_severity"][i]),
        "large_loss_severity": float(out["large_loss_severity"][i]),
        "expected_severity": float(out["severity"][i]),
        "pure_premium": float(out["pure_premium"][i]),
        **base,
        "minimum_applied": bool(floored[i]),
        "guardrails": held[i].as_breakdown(),
    }} for i in range(len(out["premium"]))]


def columns(out: dict[str, np.ndarray], metadata: dict[str, Any]) -> dict[str, np.ndarray]:
    """The same numbers as ``predictions``, column by column, for a scored book."""
    n = len(out["premium"])
    cols = {"expected_frequency": out["frequency"],
            "base_frequency": out["base_frequency"],
            **{f"effect_{name}": out["factor_effects"][:, k]
               for k, name in enumerate(FACTOR_NAMES)},
            "attritional_severity": out["attritional_severity"],
            "large_loss_severity": out["large_loss_severity"],
            "expected_severity": out["severity"],
            "pure_premium": out["pure_premium"]}
    cols.update({k: np.full(n, v) for k, v in loadings(metadata).items()})
    cols["minimum_applied"] = minimum_applied(out["premium"], metadata)
    return cols


def guarded_columns(out: dict[str, np.ndarray], metadata: dict[str, Any]) -> dict[str, Any]:
    """A scored book's premium, its uncapped price and the rules that held it (text)."""
    held = guarded(out, metadata)
    return {"premium": np.array([float(h.premium) for h in held]),
            "uncapped_premium": np.array([float(h.uncapped) for h in held]),
            "guardrail_rules": np.array([" ".join(f.rule for f in h.fired) for h in held],
                                        dtype=object)}


def warm_up_problem(out: dict[str, np.ndarray]) -> str | None:
    premium = out["premium"]
    if not np.all(np.isfinite(premium)) or np.any(premium <= 0):
        return "non-finite or non-positive premiums"
    return None


def compare(primary: dict[str, Any], shadow: dict[str, Any]) -> dict[str, float]:
    """Shadow's premium over the primary's, for the same features."""
    if primary["premium"] <= 0:
        return {}
    return {"premium_ratio": float(shadow["premium"]) / float(primary["premium"])}
