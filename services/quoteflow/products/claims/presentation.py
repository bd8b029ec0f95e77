"""A claim's facts as a reviewer reads them: named in words, amounts in the currency's
format, yes or no, dates as dates, and beside each fact the triage reasons about it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from quoteflow.products.claims.reasons import fields_named

# request field -> (label, kind); the order is the page's
FACTS: dict[str, tuple[str, str]] = {
    "line": ("Line of business", "line"),
    "claimant_age": ("Claimant's age", "years"),
    "policy_start_date": ("Cover started", "date"),
    "incident_date": ("Incident", "date"),
    "report_date": ("Reported", "date"),
    "claimed_amount": ("Claimed amount", "amount"),
    "sum_insured": ("Sum insured", "amount"),
    "prior_claims_3y": ("Prior claims in the last 3 years", "count"),
    "witnesses": ("Witnesses", "count"),
    "police_or_medical_report": ("Police or medical report attached", "bool"),
    "documents_attached": ("Documents attached", "count"),
    "incident_description": ("What happened", "text"),
}
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


@dataclass(frozen=True)
class Fact:
    field: str
    label: str
    value: str
    reasons: tuple[str, ...]  # triage's reasons about this fact, strongest first


def amount(value: float, currency: str) -> str:
    """1850.0 -> '€1,850.00'; a currency without a symbol here: '1,850.00 CHF'."""
    sign, v = ("-" if value < 0 else ""), abs(float(value))
    if currency in SYMBOLS:
        return f"{sign}{SYMBOLS[currency]}{v:,.2f}"
    return f"{sign}{v:,.2f} {currency}"


def day(value: str | dt.date) -> str:
    """'2026-11-02' -> 'Mon 2 Nov 2026'."""
    d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    return f"{d:%a} {d.day} {d:%b %Y}"


def shown(kind: str, value: Any, currency: str) -> str:
    if kind == "amount":
        return amount(value, currency)
    if kind == "date":
        return day(value)
    if kind == "bool":
        return "Yes" if value else "No"
    if kind == "line":
        return str(value).capitalize()
    if kind == "years":
        return f"{value} years"
    return str(value)


def facts(request: dict[str, Any], reasons: list[str] | None, currency: str) -> list[Fact]:
    """The request's facts in page order; a reason goes beside the first fact it names
    (the most telling: "reported 40 days after the incident" beside the report date).
    A field the request lacks (an optional one) is left out."""
    beside: dict[str, list[str]] = {}
    for reason in reasons or ():
        named = fields_named(reason)
        if named:
            beside.setdefault(named[0], []).append(reason)
    return [Fact(name, label, shown(kind, request[name], currency), tuple(beside.get(name, ())))
            for name, (label, kind) in FACTS.items() if request.get(name) is not None]
