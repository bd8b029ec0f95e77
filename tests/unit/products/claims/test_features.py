"""The claims contract and the one feature derivation: clear errors, one derivation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from quoteflow.products.claims import PRODUCT, features, generator
from quoteflow.products.claims.contract import CLAIM_EXAMPLE, ClaimRequest

TODAY = dt.date(2026, 11, 30)


def claim(**changes: Any) -> dict[str, Any]:
    return {**CLAIM_EXAMPLE, **changes}


def problems(**changes: Any) -> list[tuple[str, str]]:
    cols = PRODUCT.columns([ClaimRequest.model_validate(claim(**changes))], TODAY)
    return [(p.field, p.message) for p in PRODUCT.errors(cols, TODAY)]


def test_the_example_is_valid() -> None:
    assert problems() == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"incident_date": "2026-10-01"},
     [("incident_date", "is before the policy start date (2026-10-20): the incident is not "
                        "covered")]),
    ({"report_date": "2026-11-01"}, [("report_date", "is before the incident date (2026-11-02)")]),
    ({"report_date": "2026-12-05"}, [("report_date", "is after today (2026-11-30)")]),
    ({"incident_date": "2026-12-01", "report_date": "2026-12-02"},
     [("incident_date", "is after today (2026-11-30)"),
      ("report_date", "is after today (2026-11-30)")]),
    ({"policy_start_date": "2020-01-01", "incident_date": "2021-01-01"},
     [("report_date", "is 2149 days after the incident, beyond the 1095-day notification "
                      "period")]),
    ({"claimed_amount": 0}, [("claimed_amount", "0 must be greater than 0")]),
    ({"sum_insured": -5.5}, [("sum_insured", "-5.5 must be greater than 0")]),
    ({"claimed_amount": 30000},
     [("claimed_amount", "30,000.00 is more than 1.5 times the sum insured (15,000.00)")]),
    ({"sum_insured": 20_000_000, "claimed_amount": 100},
     [("sum_insured", "20,000,000.00 is above the largest sum insured written (10,000,000)")]),
    ({"claimant_age": 16}, [("claimant_age", "claimant is 16, outside 18-100")]),
    ({"witnesses": -1}, [("witnesses", "-1 is outside 0-100")]),
    ({"prior_claims_3y": 51}, [("prior_claims_3y", "51 is outside 0-50")]),
    ({"incident_description": "   "}, [("incident_description", "is empty")]),
])
def test_business_rules_name_the_field_and_say_what_is_wrong(
        changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert problems(**changes) == expected


@pytest.mark.parametrize(("changes", "loc", "msg"), [
    ({"claimant_age": "34"}, "claimant_age", "Input should be a valid integer"),
    ({"police_or_medical_report": "yes"}, "police_or_medical_report",
     "Input should be a valid boolean"),
    ({"incident_date": 1700000000}, "incident_date", "Input should be a date as text, YYYY-MM-DD"),
    ({"claimed_amount": "100"}, "claimed_amount", "Input should be a valid number"),
    ({"claimed_amount": float("inf")}, "claimed_amount", "Input should be a finite number"),
    ({"claim_reference": "claim 12"}, "claim_reference", "String should match pattern"),
    ({"line": "travel"}, "line", "Input should be 'motor', 'home' or 'health'"),
    ({"colour": "red"}, "colour", "Extra inputs are not permitted"),
])
def test_contract_refuses_bad_types_field_by_field(changes: dict[str, Any], loc: str,
                                                   msg: str) -> None:
    with pytest.raises(ValidationError) as e:
        ClaimRequest.model_validate(claim(**changes))
    (err,) = e.value.errors()
    assert err["loc"] == (loc,) and err["msg"].startswith(msg)


def test_claim_reference_is_required() -> None:
    body = claim()
    del body["claim_reference"]
    with pytest.raises(ValidationError, match="claim_reference\n  Field required"):
        ClaimRequest.model_validate(body)


def test_report_date_defaults_to_today() -> None:
    body = claim()
    del body["report_date"]
    cols = PRODUCT.columns([ClaimRequest.model_validate(body)], TODAY)
    assert cols.report_date[0] == np.datetime64(TODAY)


def test_text_becomes_stock_phrase_flags_whatever_the_case_and_punctuation() -> None:
    x = PRODUCT.features(PRODUCT.columns([ClaimRequest.model_validate(claim(
        incident_description="The van CAME out-of nowhere!!  I had just bought it; "
                             "nobody else saw"))], TODAY))
    row = dict(zip(features.FEATURE_NAMES, x[0], strict=True))
    assert row["phrase_came_out_of_nowhere"] == 1 and row["phrase_i_had_just_bought_it"] == 1
    assert row["phrase_nobody_else_saw_it"] == 0  # the phrase is incomplete
    assert row["stock_phrase_count"] == 2 and row["description_words"] == 14


def test_one_row_and_a_batch_derive_the_same_features() -> None:
    sample = generator.generate(300, seed=5)
    batch = features.features(sample.columns())
    assert batch.dtype == np.float32 and batch.shape == (300, features.N_FEATURES)
    reqs = [ClaimRequest.model_validate(b) for b in sample.requests(range(300))]
    one_by_one = np.vstack([PRODUCT.features(PRODUCT.columns([r], TODAY)) for r in reqs])
    assert np.array_equal(batch, one_by_one)


def test_derived_features_follow_their_definitions() -> None:
    x = PRODUCT.features(PRODUCT.columns([ClaimRequest.model_validate(claim())], TODAY))
    row = dict(zip(features.FEATURE_NAMES, x[0].tolist(), strict=True))
    assert row["days_cover_to_incident"] == 13 and row["cover_under_30d"] == 1
    assert row["days_incident_to_report"] == 18 and row["report_after_30d"] == 0
    assert row["amount_round_500"] == 1 and row["near_sum_insured"] == 1
    assert row["required_report_missing"] == 1  # motor over 5,000 EUR without police report
    assert row["documents_missing"] == 0 and row["line_motor"] == 1
    assert features.FEATURE_NAMES[:len(features.RAW_FEATURES)] == features.RAW_FEATURES
    assert set(features.reference_edges()) == set(features.RAW_FEATURES)
