"""Reviewed claims as labels: line-by-line checks with messages naming the line and
field, the last decision of a claim wins, a byte-reproducible fingerprint."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from quoteflow.products.claims import features, generator
from quoteflow.products.claims.contract import CLAIM_EXAMPLE
from quoteflow.products.claims.labels import LabelError, load, parse

AS_OF = generator.DEFAULT_AS_OF


def rows(n: int = 40, seed: int = 7) -> list[dict[str, Any]]:
    """Generated claims with their drawn class as the reviewer's label, decided the day
    after the generator's as-of date (as export-decisions writes them)."""
    s = generator.generate(n, seed)
    at = dt.datetime.combine(AS_OF, dt.time(9), dt.UTC)
    return [{"claim_reference": r["claim_reference"], "request": r,
             "label": features.CLASSES[int(s.labels[i])],
             "decided_at": (at + dt.timedelta(days=1, minutes=i)).isoformat(),
             "reviewer": "rita", "action": "approve"}
            for i, r in enumerate(s.requests(range(n)))]


def lines(data: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in data]


def test_a_good_file_gives_feature_rows_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "decisions.jsonl"
    path.write_text("\n".join(lines(rows())) + "\n\n")
    labels = load(path)
    x, y = labels.xy()
    assert x.shape == (40, len(features.FEATURE_NAMES)) and np.isfinite(x).all()
    assert [features.CLASSES[k] for k in y] == [c.label for c in labels.claims]
    s = labels.summary()
    assert (s["source"], s["count"], sum(s["labels"].values())) == ("decisions.jsonl", 40, 40)
    assert s["first_decided_at"] < s["last_decided_at"]
    assert s["first_decided_at"].startswith((AS_OF + dt.timedelta(days=1)).isoformat())


@pytest.mark.parametrize(("change", "says"), [
    (lambda r: "{not json", "line 2: not JSON"),
    (lambda r: "[1, 2]", "line 2: a JSON object is needed, not list"),
    (lambda r: {k: v for k, v in r.items() if k != "label"}, "line 2: missing label"),
    (lambda r: {**r, "label": "maybe"}, "line 2: label: 'maybe' is not one of valid, fraud"),
    (lambda r: {**r, "decided_at": "2026-13-01"}, "line 2: decided_at: '2026-13-01' is not"),
    (lambda r: {**r, "decided_at": "2026-12-01T10:00:00"},
     "line 2: decided_at: '2026-12-01T10:00:00' needs a time zone"),
    (lambda r: {**r, "request": {**r["request"], "claimed_amount": "lots"}},
     "line 2: request.claimed_amount: Input should be a valid number"),
    (lambda r: {**r, "request": {**r["request"], "line": "boat"}},
     "line 2: request.line: Input should be 'motor', 'home' or 'health'"),
    (lambda r: {**r, "claim_reference": "CLM-2026-999999"},
     "line 2: request.claim_reference"),
    (lambda r: {**r, "request": {**r["request"], "incident_date": "1990-01-01"}},
     "line 2: request.incident_date: is before the policy start date"),
])
def test_a_bad_line_is_refused_naming_the_line_and_field(change: Any, says: str) -> None:
    data = rows(3)
    bad = change(data[1])
    text = lines(data)
    text[1] = bad if isinstance(bad, str) else json.dumps(bad)
    with pytest.raises(LabelError, match="^" + re.escape("decisions.jsonl " + says)):
        parse(text, "decisions.jsonl")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "none.jsonl").write_text("\n")
    with pytest.raises(LabelError, match=r"none\.jsonl: no labelled claims"):
        load(tmp_path / "none.jsonl")


def test_a_claim_decided_twice_counts_once_with_its_last_decision() -> None:
    first = rows(1)[0]
    later = {**first, "label": "fraud", "decided_at": "2030-01-01T00:00:00+00:00"}
    for order in ([first, later], [later, first]):
        [c] = parse(lines(order), "x").claims
        assert c.label == "fraud"


def test_a_missing_report_date_is_the_filing_day() -> None:
    r = rows(1)[0]
    r["request"] = {k: v for k, v in r["request"].items() if k != "report_date"}
    r["filed_at"] = dt.datetime.combine(AS_OF, dt.time(23, 30), dt.UTC).isoformat()
    [c] = parse(lines([r]), "x").claims
    assert c.request.report_date == AS_OF


def test_the_fingerprint_is_byte_reproducible() -> None:
    data = rows(5)
    a = parse(lines(data), "a.jsonl")
    # the same claims, lines shuffled, keys reordered, spaced, from another file name
    shuffled = [json.dumps(dict(reversed(list(r.items()))), indent=None, separators=(", ", ": "))
                for r in reversed(data)]
    b = parse(shuffled, "elsewhere/b.jsonl")
    assert a.canonical_bytes() == b.canonical_bytes() and a.fingerprint() == b.fingerprint()
    changed = [dict(r) for r in data]
    changed[3]["label"] = "review" if changed[3]["label"] != "review" else "valid"
    assert parse(lines(changed), "a.jsonl").fingerprint() != a.fingerprint()


def test_a_fixed_label_set_has_a_fixed_fingerprint() -> None:
    """The same bytes in any process, on any day, with any dict order."""
    row = {"claim_reference": CLAIM_EXAMPLE["claim_reference"], "request": CLAIM_EXAMPLE,
           "label": "fraud", "decided_at": "2026-11-21T11:00:00+01:00"}
    labels = parse([json.dumps(row)], "x")
    assert labels.canonical_bytes().startswith(
        b'{"claim_reference":"CLM-2026-000123","decided_at":"2026-11-21T10:00:00+00:00",')
    assert labels.fingerprint() == GOLDEN


GOLDEN = "10db592863037061cb77328a884912e6501ea4366478187c9f7fbdd35dc8f79c"


def test_the_held_out_claims_stay_held_out_as_the_set_grows() -> None:
    small, big = parse(lines(rows(60)), "s"), parse(lines(rows(200)), "b")
    out_small = {c.reference for c, o in zip(small.claims, small.held_out(0.3), strict=True)
                 if o}
    out_big = {c.reference for c, o in zip(big.claims, big.held_out(0.3), strict=True) if o}
    refs_small = {c.reference for c in small.claims}
    assert out_big & refs_small == out_small
    assert 0.15 < len(out_big) / len(big) < 0.45
