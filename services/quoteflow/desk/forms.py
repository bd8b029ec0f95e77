"""The new-claim form: the triage contract's fields as HTML inputs, and the same
field-level errors the router would answer (quoteflow.errors over the product's own
validation), so the agent fixes them before anything is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from quoteflow import products
from quoteflow.errors import rule_errors, validation_errors


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str  # int, float, date, line, bool, text
    hint: str = ""
    required: bool = True


# the contract's fields but the reference (the desk draws it) and the document count
# (the documents uploaded are counted)
FIELDS: tuple[Field, ...] = (
    Field("claimant_age", "Claimant's age (years)", "int"),
    Field("line", "Line of business", "line"),
    Field("policy_start_date", "Policy start date", "date"),
    Field("incident_date", "Incident date", "date"),
    Field("report_date", "Report date", "date", "empty: today", required=False),
    Field("claimed_amount", "Claimed amount (EUR)", "float"),
    Field("sum_insured", "Sum insured (EUR)", "float"),
    Field("prior_claims_3y", "Prior claims in the last 3 years", "int"),
    Field("witnesses", "Witnesses", "int"),
    Field("police_or_medical_report", "A police (motor, home) or medical (health) report "
          "is attached", "bool", required=False),
    Field("incident_description", "What happened, in the claimant's words", "text"),
)
LINES = ("motor", "home", "health")
NAMES = {f.name for f in FIELDS}


def _convert(f: Field, raw: str) -> Any:
    """The typed value, or a ValueError whose text is shown beside the input."""
    if f.kind == "bool":
        return raw == "on"
    raw = raw.strip() if f.kind != "text" else raw
    if raw == "":
        if f.required:
            raise ValueError("This field is required")
        return None
    if f.kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"Enter a whole number, not {raw[:40]!r}") from None
    if f.kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"Enter an amount in EUR, not {raw[:40]!r}") from None
    return raw  # dates and the line: the contract checks them, with its own messages


def parse(form: Mapping[str, str], reference: str, documents: int, today: dt.date
          ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """(the triage request, None) when valid, else (None, {field: message})."""
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"claim_reference": reference, "documents_attached": documents}
    for f in FIELDS:
        try:
            value = _convert(f, form.get(f.name, ""))
        except ValueError as e:
            errors[f.name] = str(e)
            continue
        if value is not None:
            body[f.name] = value
    if errors:
        return None, errors
    return validate(body, today)


def validate(body: dict[str, Any], today: dt.date
             ) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The contract and the business rules, exactly as preprocess runs them."""
    product = products.get("claims")
    try:
        req = product.request_model.model_validate(body)
    except ValidationError as e:
        return None, _by_field(validation_errors(e))
    problems = product.errors(product.columns([req], today), today)
    if problems:
        return None, _by_field(rule_errors(problems))
    return req.model_dump(mode="json", exclude_none=True), {}


def _by_field(errors: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in errors:
        loc = e["loc"][1] if len(e["loc"]) > 1 else "form"
        name = str(loc) if str(loc) in NAMES else "form"
        out[name] = f"{out[name]}; {e['msg']}" if name in out else e["msg"]
    return out
