"""The reasons of a decision: which facts of the claim moved it most, in an agent's words.

The artifact's metadata holds, per fact (``GROUPS``: the days since cover started and
the "under 30 days" flag are one fact) and per class c in (fraud, review), a table of
the model's centred partial dependence of log(p_c / p_valid) on that fact, tabulated
at real claims' values of it (explain.py builds it at training). A row's contribution
of a fact is the table's value at the nearest tabulated value (distance in training
standard deviations). The reasons of a fraud or review decision are the facts that
pushed most towards it; those of a valid decision the facts that pushed away from both
other classes.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from quoteflow.products.claims.features import (
    CLASSES,
    FEATURE_NAMES,
    LINES,
    PHRASE_FEATURES,
    REQUIRED_DOCUMENTS,
    STOCK_PHRASES,
)

MAX_REASONS = 3
MIN_CONTRIBUTION = 0.1  # log-odds; below this a fact did not move the decision
GROUPS: dict[str, tuple[str, ...]] = {
    "cover": ("days_cover_to_incident", "log_days_cover", "cover_under_30d", "cover_30_to_90d"),
    "report_delay": ("days_incident_to_report", "log_days_report", "report_after_30d"),
    "amount": ("claimed_amount", "log_claimed_amount", "sum_insured", "amount_to_sum_insured",
               "near_sum_insured"),
    "round_amount": ("amount_round_100", "amount_round_500"),
    "phrases": (*PHRASE_FEATURES, "stock_phrase_count"),
    "prior_claims": ("prior_claims_3y",),
    "witnesses": ("witnesses",),
    "report": ("report_present", "required_report_missing"),
    "documents": ("documents_attached", "documents_missing"),
    "age": ("claimant_age", "claimant_under_25"),
    "line": tuple(f"line_{x}" for x in LINES),
    "description_length": ("description_words",),
}
assert sorted(f for g in GROUPS.values() for f in g) == sorted(FEATURE_NAMES)
# The request fields each fact is about, the most telling first: a page shows a reason
# beside the first.
FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "cover": ("policy_start_date", "incident_date"),
    "report_delay": ("report_date", "incident_date"),
    "amount": ("claimed_amount", "sum_insured"),
    "round_amount": ("claimed_amount",),
    "phrases": ("incident_description",),
    "prior_claims": ("prior_claims_3y",),
    "witnesses": ("witnesses",),
    "report": ("police_or_medical_report",),
    "documents": ("documents_attached",),
    "age": ("claimant_age",),
    "line": ("line",),
    "description_length": ("incident_description",),
}
# Each group's sentences (``sentence``), recognised again: answers carry the words only.
_SENTENCES: dict[str, re.Pattern[str]] = {g: re.compile(p) for g, p in {
    "cover": r"^The incident happened -?\d+ days after cover started\.$",
    "report_delay": r"^It was reported -?\d+ days after the incident\.$",
    "amount": r"^The claimed amount is \d+% of the sum insured\.$",
    "round_amount": r"^The claimed amount is (a round figure \(.*\)|not a round figure)\.$",
    "phrases": r"^The description uses ",
    "prior_claims": r"^(\d+ prior claims?|No prior claims) in the last 3 years\.$",
    "witnesses": r"^(\d+ witness(es)?|No witnesses) to the incident\.$",
    "report": r"^(The \w+ report a \w+ claim of this size needs is missing|A \w+ report is "
              r"attached|No \w+ report is attached \(none is needed at this amount\))\.$",
    "documents": r"^(\d+ of the \d+|All \d+) documents a \w+ claim needs are "
                 r"(missing|attached)\.$",
    "age": r"^The claimant is \d+\.$",
    "line": r"^It is a \w+ claim\.$",
    "description_length": r"^The description is \d+ words? long\.$",
}.items()}
assert set(_SENTENCES) == set(GROUPS) == set(FACT_FIELDS)


def fields_named(reason: str) -> tuple[str, ...]:
    """The request fields a reason (one of ``sentence``'s) is about; () if none."""
    for group, pattern in _SENTENCES.items():
        if pattern.search(reason):
            return FACT_FIELDS[group]
    return ()
_COL = {name: j for j, name in enumerate(FEATURE_NAMES)}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def sentence(group: str, row: np.ndarray, currency: str) -> str:
    """The fact behind ``group`` for one feature row, stated neutrally."""
    v = {name: float(row[j]) for name, j in _COL.items()}
    line = LINES[int(np.argmax([v[f"line_{x}"] for x in LINES]))]
    report = "medical" if line == "health" else "police"
    if group == "cover":
        return f"The incident happened {v['days_cover_to_incident']:.0f} days after cover started."
    if group == "report_delay":
        return f"It was reported {v['days_incident_to_report']:.0f} days after the incident."
    if group == "amount":
        return (f"The claimed amount is {100 * v['amount_to_sum_insured']:.0f}% of the sum "
                f"insured.")
    if group == "round_amount":
        if v["amount_round_100"]:
            return f"The claimed amount is a round figure ({v['claimed_amount']:,.0f} {currency})."
        return "The claimed amount is not a round figure."
    if group == "phrases":
        used = [p for p, f in zip(STOCK_PHRASES, PHRASE_FEATURES, strict=True) if v[f]]
        if used:
            return ("The description uses wording common in staged claims ("
                    + ", ".join(f'"{p}"' for p in used) + ").")
        return "The description uses none of the wording common in staged claims."
    if group == "prior_claims":
        n = int(v["prior_claims_3y"])
        return f"{_plural(n, 'prior claim') if n else 'No prior claims'} in the last 3 years."
    if group == "witnesses":
        n = int(v["witnesses"])
        return f"{_plural(n, 'witness', 'witnesses') if n else 'No witnesses'} to the incident."
    if group == "report":
        if v["required_report_missing"]:
            return f"The {report} report a {line} claim of this size needs is missing."
        if v["report_present"]:
            return f"A {report} report is attached."
        return f"No {report} report is attached (none is needed at this amount)."
    if group == "documents":
        need, missing = REQUIRED_DOCUMENTS[line], int(v["documents_missing"])
        if missing:
            return f"{missing} of the {need} documents a {line} claim needs are missing."
        return f"All {need} documents a {line} claim needs are attached."
    if group == "age":
        return f"The claimant is {v['claimant_age']:.0f}."
    if group == "line":
        return f"It is a {line} claim."
    return f"The description is {_plural(int(v['description_words']), 'word')} long."


def nearest(xg: np.ndarray, tuples: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Index of the nearest tuple for each row of ``xg`` (L1 in units of ``scale``)."""
    d = np.abs(xg[:, None, :].astype(np.float64) - np.asarray(tuples)[None, :, :])
    return np.asarray(np.argmin((d / np.asarray(scale)).sum(axis=2), axis=1))


def contributions(x: np.ndarray, explanation: dict[str, Any]) -> dict[str, np.ndarray]:
    """Per class (fraud, review): (n, len(GROUPS)) log-odds contributions vs valid."""
    out = {c: np.zeros((len(x), len(GROUPS))) for c in CLASSES[1:]}
    for g, group in enumerate(GROUPS):
        t = explanation["groups"][group]
        at = nearest(x[:, [_COL[f] for f in t["features"]]], t["tuples"], t["scale"])
        for cls in out:
            out[cls][:, g] = np.asarray(t["values"][cls])[at]
    return out


def reasons(x: np.ndarray, probabilities: np.ndarray, decision: np.ndarray,
            metadata: dict[str, Any]) -> list[list[str]]:
    """Up to MAX_REASONS sentences a row, the strongest first."""
    contrib = contributions(x, metadata["explanation"])
    currency = str(metadata["decision_rule"]["currency"])
    names = list(GROUPS)
    out = []
    for i, d in enumerate(decision):
        cls = CLASSES[int(d)]
        if cls == "valid":  # away from both others
            score = -np.maximum(contrib["fraud"][i], contrib["review"][i])
        else:
            score = contrib[cls][i]
        top = [k for k in np.argsort(-score, kind="stable")[:MAX_REASONS]
               if score[k] >= MIN_CONTRIBUTION]
        out.append([sentence(names[k], x[i], currency) for k in top]
                   or ["No single fact stands out: the claim's facts together decided."])
    return out
