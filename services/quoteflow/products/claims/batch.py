"""A file of claims judged row by row as the live API judges the same request.

A row stands for the JSON body an agent's app would POST: a Parquet integer is a JSON
number, a string a JSON string; CSV has no types, so a CSV cell that reads as a JSON
number (number fields) or ``true``/``false`` (the report flag) is one, and anything
else is a string. An empty cell is an absent field. Each row goes through
``ClaimRequest`` itself (claim triage's volumes are thousands of claims, not
millions of quotes), so a rejected row's messages are the live ones by construction;
then the business rules (features.errors) run vectorised over the typed rows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from quoteflow.batch.judged import Judged
from quoteflow.products.claims import contract, features
from quoteflow.products.claims.contract import ClaimRequest

REQUEST_FIELDS = tuple(ClaimRequest.model_fields)
NUMBER_FIELDS = ("claimant_age", "claimed_amount", "sum_insured", "prior_claims_3y",
                 "witnesses", "documents_attached")
BOOL_FIELDS = ("police_or_medical_report",)
CSV_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def validation_errors(e: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as the API's field list (quoteflow.http renders them the same)."""
    return [{"loc": ["body", *err["loc"]] if err["type"] != "json_invalid" else ["body"],
             "msg": err["msg"], "type": err["type"]} for err in e.errors(include_url=False)]


def problems_as_errors(problems: list[features.FieldProblem]) -> dict[int, list[dict[str, Any]]]:
    """Business-rule problems as the API's field list, by row."""
    out: dict[int, list[dict[str, Any]]] = {}
    for row, field, msg in problems:
        out.setdefault(row, []).append({"loc": ["body", field], "msg": msg,
                                        "type": "value_error"})
    return out


def cell_value(value: Any, csv: bool, field: str) -> Any:
    """The JSON value a client would send for a cell (None: the field is absent)."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if csv and isinstance(value, str):
        if field in NUMBER_FIELDS and CSV_NUMBER.fullmatch(value):
            return orjson.loads(value)
        if field in BOOL_FIELDS and value in ("true", "false"):
            return value == "true"
    return value


def row_body(batch: Any, i: int, csv: bool) -> dict[str, Any]:
    """The request body of row ``i``: only the request's fields, absent when empty."""
    body = {}
    for name in REQUEST_FIELDS:
        if name in batch.schema.names:
            v = cell_value(batch.column(name)[i].as_py(), csv, name)
            if v is not None:
                body[name] = v
    return body


def judge(batch: Any, csv: bool, today: dt.date, default_date: dt.date,
          columns_of: Any) -> Judged:
    """Split a pyarrow RecordBatch into claims to triage and rejects with live messages.

    Other columns (an id the platform carries) are not part of the request.
    """
    requests: list[ClaimRequest] = []
    typed: list[int] = []
    rejected: dict[int, list[dict[str, Any]]] = {}
    bodies = [row_body(batch, i, csv) for i in range(batch.num_rows)]
    for i, body in enumerate(bodies):
        try:
            requests.append(ClaimRequest.model_validate_json(orjson.dumps(body)))
            typed.append(i)
        except ValidationError as e:
            rejected[i] = validation_errors(e)
    idx = np.asarray(typed, dtype=np.int64)
    cols = columns_of(requests, default_date)
    business = problems_as_errors(features.errors(cols, today))
    keep = np.ones(len(idx), dtype=bool)
    for j, errs in business.items():
        rejected[int(idx[j])] = errs
        keep[j] = False
    rows = [(i, bodies[i], rejected[i]) for i in sorted(rejected)]
    return Judged(idx[keep], cols.subset(keep), rows)


def scored_columns(outputs: dict[str, np.ndarray], reasons: list[list[str]]
                   ) -> dict[str, Any]:
    """A scored chunk's output columns: decision, one column per class probability, reasons."""
    p = np.asarray(outputs["probabilities"]).reshape(-1, len(features.CLASSES))
    decision = np.asarray(outputs["decision"]).reshape(-1)
    cols: dict[str, Any] = {
        "decision": np.asarray(features.CLASSES, dtype=object)[decision]}
    for k, c in enumerate(features.CLASSES):
        cols[f"probability_{c}"] = p[:, k].astype(np.float64)
    cols["reasons"] = np.array([" | ".join(r) for r in reasons], dtype=object)
    return cols


assert set(NUMBER_FIELDS) | set(BOOL_FIELDS) < set(contract.ClaimRequest.model_fields)
