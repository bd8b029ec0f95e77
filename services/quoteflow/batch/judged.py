"""Judge a chunk of a book's rows as the live API would judge the same requests.

A row stands for the JSON body a client would POST, read against the product's request
model (``Product.request_model``, whose field types say how): a cell's file type gives
the JSON type (a Parquet integer is a JSON number, a string a JSON string); CSV has no
types, so a CSV cell of a number field that reads as a JSON number is one, a CSV cell of
a boolean field that reads ``true`` or ``false`` is one, and anything else is a string.
An empty cell is an absent field (so a missing required value reads "Field required");
other columns (an id the platform carries) are not part of the request.

Each row goes through the request model itself, so that a rejected row's messages are
the live ones by construction (rendered by errors.py, as the API renders them). A
product may have a vectorised fast path (``Product.batch_fast_path``) that recognises a
chunk's plainly well-typed rows at once: only its other rows then go through the model,
one by one. The business rules (``Product.errors``) run vectorised over every typed row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import types
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, Union, get_args, get_origin

import numpy as np
import orjson
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from quoteflow.errors import rule_errors, validation_errors
from quoteflow.products.base import FastPath, FieldProblem, Product

CSV_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


@dataclass
class Judged:
    """A chunk split into priceable rows (as the product's columns) and rejected rows."""

    ok: np.ndarray  # row indices within the chunk, ascending
    columns: Any  # the product's column batch of the ok rows, in that order
    rejected: list[tuple[int, dict[str, Any], list[dict[str, Any]]]]  # (row, body, errors)


def _kinds(annotation: Any) -> set[Any]:
    """The Python types a field's JSON value may take (a Literal's: its values' types)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return {type(v) for v in get_args(annotation)}
    if origin is Union or origin is types.UnionType:
        return set().union(*(_kinds(a) for a in get_args(annotation)))
    return {annotation}


@dataclass(frozen=True)
class RequestFields:
    """A request model's fields as a book's cells are read: all of them, in the model's
    order, and those whose CSV text may stand for a JSON number or a JSON boolean."""

    names: tuple[str, ...]
    numbers: frozenset[str]
    flags: frozenset[str]

    @staticmethod
    @cache
    def of(model: type[BaseModel]) -> RequestFields:
        kinds = {name: _kinds(f.annotation) for name, f in model.model_fields.items()}
        return RequestFields(tuple(kinds),
                             frozenset(k for k, t in kinds.items() if t & {int, float}),
                             frozenset(k for k, t in kinds.items() if bool in t))

    def cell_value(self, value: Any, csv: bool, field: str) -> Any:
        """The JSON value a client would send for a cell (None: the field is absent)."""
        if isinstance(value, dt.date):  # a datetime too
            return value.isoformat()
        if csv and isinstance(value, str):
            if field in self.numbers and CSV_NUMBER.fullmatch(value):
                return orjson.loads(value)
            if field in self.flags and value in ("true", "false"):
                return value == "true"
        return value

    def row_body(self, chunk: pa.RecordBatch, i: int, csv: bool) -> dict[str, Any]:
        """The request body of row ``i``: only the request's fields, absent when empty."""
        body = {}
        for name in self.names:
            if name in chunk.schema.names:
                v = self.cell_value(chunk.column(name)[i].as_py(), csv, name)
                if v is not None:
                    body[name] = v
        return body


def judge(product: Product, chunk: pa.RecordBatch, csv: bool, today: dt.date,
          default_date: dt.date) -> Judged:
    """Split a chunk into priceable rows and rejects carrying the live API's messages.

    ``default_date`` stands for an absent optional date (a quote date, a report date);
    ``today`` is the live API's today, for the business rules.
    """
    model: type[BaseModel] = product.request_model  # any product's: type[Any] to mypy
    fields = RequestFields.of(model)
    fast = product.batch_fast_path(chunk, csv, default_date)
    plain = fast.plain if fast is not None else np.zeros(chunk.num_rows, dtype=bool)
    bodies: dict[int, dict[str, Any]] = {}
    rejected: dict[int, list[dict[str, Any]]] = {}
    requests: list[BaseModel] = []
    accepted: list[int] = []
    for i in np.flatnonzero(~plain).tolist():  # pydantic's own verdict, one by one
        body = bodies[i] = fields.row_body(chunk, i, csv)
        try:
            requests.append(product.request_model.model_validate_json(orjson.dumps(body)))
        except ValidationError as e:
            rejected[i] = validation_errors(e)
        else:
            accepted.append(i)
    idx, cols = _typed(product, fast, plain, requests, accepted, default_date)
    keep = np.ones(len(idx), dtype=bool)
    for j, problems in _by_row(product.errors(cols, today)).items():
        rejected[int(idx[j])] = rule_errors(problems)
        keep[j] = False
    for j in np.flatnonzero(_renewing(product, chunk)[idx]).tolist():
        rejected.setdefault(int(idx[j]), []).append(_renewal_live_only(product))
        keep[j] = False
    rows = [(i, bodies[i] if i in bodies else fields.row_body(chunk, i, csv), rejected[i])
            for i in sorted(rejected)]
    return Judged(idx[keep], cols if keep.all() else cols.subset(keep), rows)


def _renewal_live_only(product: Product) -> dict[str, Any]:
    return {"loc": ["body", product.renewal_field],
            "msg": "a renewal is priced live only: it is held to a bound quote of the ledger",
            "type": "value_error"}


def _renewing(product: Product, chunk: pa.RecordBatch) -> np.ndarray:
    """Rows naming a quote they renew: never priced as new business without a word."""
    name = product.renewal_field
    if name is None or name not in chunk.schema.names:
        return np.zeros(chunk.num_rows, dtype=bool)
    col = chunk.column(name)
    valid = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        valid &= np.asarray([v != "" for v in col.to_pylist()])  # an empty CSV cell
    return valid


def _typed(product: Product, fast: FastPath | None, plain: np.ndarray,
           requests: list[BaseModel], accepted: list[int], default_date: dt.date
           ) -> tuple[np.ndarray, Any]:
    """The typed rows (indices) and their column batch: the fast path's plain rows and
    the rows the request model accepted, in chunk order."""
    if fast is None:
        return np.asarray(accepted, dtype=np.int64), product.columns(requests, default_date)
    cols = fast.columns
    if accepted:
        _overwrite(cols, np.asarray(accepted), product.columns(requests, default_date))
    typed = plain.copy()
    typed[accepted] = True
    return np.flatnonzero(typed), cols if typed.all() else cols.subset(typed)


def _overwrite(cols: Any, rows: np.ndarray, values: Any) -> None:
    """Write ``values`` (a column batch of len(rows) rows) into ``cols`` at ``rows``."""
    for f in dataclasses.fields(cols):
        column, value = getattr(cols, f.name), getattr(values, f.name)
        if not np.can_cast(value.dtype, column.dtype):  # an integer beyond int64: kept as is
            column = column.astype(object)
        elif not column.flags.writeable:  # a zero-copy view of an arrow buffer
            column = column.copy()
        object.__setattr__(cols, f.name, column)
        column[rows] = value


def _by_row(problems: list[FieldProblem]) -> dict[int, list[FieldProblem]]:
    by_row: dict[int, list[FieldProblem]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    return by_row
