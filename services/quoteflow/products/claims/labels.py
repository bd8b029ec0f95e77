"""Reviewed claims as labels for retraining: the desk's ``export-decisions`` JSON lines,
checked line by line, into feature rows.

Each line needs ``claim_reference``, ``request`` (a triage request, checked by the
contract and the business rules as live), ``label`` (valid, fraud or review) and
``decided_at`` (ISO 8601 with a time zone); ``filed_at`` is used when present. A claim
decided several times (documents asked, then approved) counts once, with its last
decision: the reviewer's final word. A request without a report date was reported the
day it was filed (the live default is "today" at triage): filed_at's date, else
decided_at's.

The label set's fingerprint is the sha256 of its canonical form (claims sorted by
reference, keys sorted, compact JSON): the same reviewed claims give the same bytes,
whatever the export's line order or spacing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydantic import ValidationError

from quoteflow.products.claims import contract
from quoteflow.products.claims import features as F
from quoteflow.products.claims.product import ClaimsProduct

FIELDS = ("claim_reference", "request", "label", "decided_at")


class LabelError(ValueError):
    """A label file line that cannot be used; the message names the line and field."""


@dataclass(frozen=True)
class LabelledClaim:
    reference: str
    request: contract.ClaimRequest
    label: str
    decided_at: dt.datetime
    line: int  # in the file, for messages

    def canonical(self) -> dict[str, Any]:
        return {"claim_reference": self.reference, "label": self.label,
                "decided_at": self.decided_at.astimezone(dt.UTC).isoformat(),
                "request": self.request.model_dump(mode="json")}


@dataclass(frozen=True)
class LabelSet:
    claims: tuple[LabelledClaim, ...]  # sorted by reference
    source: str

    def __len__(self) -> int:
        return len(self.claims)

    def canonical_bytes(self) -> bytes:
        return b"\n".join(orjson.dumps(c.canonical(), option=orjson.OPT_SORT_KEYS)
                          for c in self.claims) + b"\n"

    def fingerprint(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def summary(self) -> dict[str, Any]:
        """What a model version's metadata says about the label set it trained on."""
        at = [c.decided_at.astimezone(dt.UTC) for c in self.claims]
        return {"source": Path(self.source).name, "count": len(self), "sha256":
                self.fingerprint(), "sha256_definition": "labels.LabelSet.canonical_bytes",
                "first_decided_at": min(at).isoformat(), "last_decided_at": max(at).isoformat(),
                "labels": {k: sum(c.label == k for c in self.claims) for k in F.CLASSES}}

    def held_out(self, fraction: float) -> np.ndarray:
        """Which claims are kept out of training: by a hash of the reference, so a claim
        stays on the same side as the label set grows."""
        cut = int(fraction * 2**32)
        return np.array([int.from_bytes(hashlib.sha256(c.reference.encode()).digest()[:4],
                                        "big") < cut for c in self.claims], dtype=bool)

    def xy(self) -> tuple[np.ndarray, np.ndarray]:
        """Feature rows (the one derivation) and class indices."""
        if not self.claims:
            return np.zeros((0, len(F.FEATURE_NAMES))), np.zeros(0, dtype=np.int64)
        cols = _columns(self.claims)
        y = np.array([F.CLASSES.index(c.label) for c in self.claims], dtype=np.int64)
        return F.features(cols), y


def _today(claims: Iterable[LabelledClaim]) -> dt.date:
    return max(c.decided_at.astimezone(dt.UTC).date() for c in claims)


def _columns(claims: tuple[LabelledClaim, ...]) -> F.Columns:
    return ClaimsProduct().columns([c.request for c in claims], _today(claims))


def _when(value: Any, where: str, name: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise LabelError(f"{where}: {name}: {value!r} is not an ISO 8601 time") from None
    if not isinstance(value, str) or t.tzinfo is None:
        raise LabelError(f"{where}: {name}: {value!r} needs a time zone (e.g. +00:00)")
    return t


def parse_line(text: str, where: str, line: int = 0) -> LabelledClaim:
    try:
        row = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise LabelError(f"{where}: not JSON ({e})") from None
    if not isinstance(row, dict):
        raise LabelError(f"{where}: a JSON object is needed, not {type(row).__name__}")
    missing = [f for f in FIELDS if f not in row]
    if missing:
        raise LabelError(f"{where}: missing {', '.join(missing)}")
    if row["label"] not in F.CLASSES:
        raise LabelError(f"{where}: label: {row['label']!r} is not one of "
                         f"{', '.join(F.CLASSES)}")
    decided = _when(row["decided_at"], where, "decided_at")
    request = row["request"]
    if not isinstance(request, dict):
        raise LabelError(f"{where}: request: a JSON object is needed")
    if request.get("claim_reference") != row["claim_reference"]:
        raise LabelError(f"{where}: request.claim_reference {request.get('claim_reference')!r}"
                         f" is not the line's claim_reference {row['claim_reference']!r}")
    if request.get("report_date") is None:
        filed = _when(row["filed_at"], where, "filed_at") if row.get("filed_at") else decided
        request = {**request, "report_date": filed.astimezone(dt.UTC).date().isoformat()}
    try:
        req = contract.ClaimRequest.model_validate(request)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise LabelError(f"{where}: request.{field}: {first['msg']}") from None
    return LabelledClaim(req.claim_reference, req, row["label"], decided, line)


def parse(lines: Iterable[str], source: str) -> LabelSet:
    """Every non-blank line checked; the first bad one refuses the file."""
    last: dict[str, LabelledClaim] = {}
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        c = parse_line(text, f"{source} line {n}", n)
        if c.reference not in last or c.decided_at >= last[c.reference].decided_at:
            last[c.reference] = c
    if not last:
        raise LabelError(f"{source}: no labelled claims")
    claims = tuple(sorted(last.values(), key=lambda c: c.reference))
    problems = F.errors(_columns(claims), _today(claims))
    if problems:
        p = problems[0]
        raise LabelError(f"{source} line {claims[p.row].line}: request.{p.field}: {p.message}")
    return LabelSet(claims, source)


def load(path: Path) -> LabelSet:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise LabelError(f"{path}: cannot be read ({e})") from None
    return parse(text.splitlines(), str(path))
