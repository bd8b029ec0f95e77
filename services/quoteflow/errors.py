"""Field errors as every surface renders them (HTTP 422 bodies, batch rejects): loc, msg, type.

No web framework here: batch scoring and the CLI import this without FastAPI.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from quoteflow.products.base import FieldProblem


def validation_errors(e: ValidationError) -> list[dict[str, Any]]:
    """pydantic errors as the API's field list: loc, msg, type, one entry per problem."""
    out = []
    for err in e.errors(include_url=False):
        loc = ["body", *err["loc"]] if err["type"] != "json_invalid" else ["body"]
        out.append({"loc": loc, "msg": err["msg"], "type": err["type"]})
    return out


def rule_errors(problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """Business-rule violations of one request as the API's field list."""
    return [{"loc": ["body", p.field], "msg": p.message, "type": "value_error"}
            for p in problems]
