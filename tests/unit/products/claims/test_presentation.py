"""The reviewer's view of a claim: formatted facts, and every reason sentence triage can
give recognised and placed beside the fact it names."""

from __future__ import annotations

import numpy as np

from quoteflow.products.claims import features, generator, reasons
from quoteflow.products.claims.contract import CLAIM_EXAMPLE
from quoteflow.products.claims.presentation import amount, day, facts


def test_every_sentence_of_every_fact_is_recognised() -> None:
    sample = generator.generate(3000, seed=5)
    x = features.features(sample.columns())
    seen: dict[str, set[str]] = {g: set() for g in reasons.GROUPS}
    for i in range(len(x)):
        for group in reasons.GROUPS:
            s = reasons.sentence(group, x[i], "EUR")
            assert reasons.fields_named(s) == reasons.FACT_FIELDS[group], s
            seen[group].add(s.split(" ")[0])
    # both branches of the facts with several wordings were exercised
    assert {"The", "A", "No"} <= seen["report"] and "All" in seen["documents"]
    assert len(seen["documents"]) > 1 and len(seen["witnesses"]) > 2
    assert reasons.fields_named("No single fact stands out: the claim's facts together "
                                "decided.") == ()


def test_amounts_dates_and_flags_read_as_words() -> None:
    assert amount(1850.0, "EUR") == "€1,850.00" and amount(300000, "EUR") == "€300,000.00"
    assert amount(12.5, "CHF") == "12.50 CHF" and amount(-3, "GBP") == "-£3.00"
    assert day("2026-11-02") == "Mon 2 Nov 2026"
    shown = {f.field: f for f in facts(CLAIM_EXAMPLE, None, "EUR")}
    assert shown["claimed_amount"].value == "€14,500.00"
    assert shown["sum_insured"].value == "€15,000.00"
    assert shown["police_or_medical_report"].value == "No"
    assert shown["incident_date"].value == "Mon 2 Nov 2026"
    assert shown["line"].value == "Motor" and shown["claimant_age"].value == "34 years"
    assert shown["documents_attached"].value == "3"
    assert "claim_reference" not in shown and all(not f.reasons for f in shown.values())
    assert facts({**CLAIM_EXAMPLE, "report_date": None}, None, "EUR")[4].field != "report_date"


def test_reasons_sit_beside_the_fact_they_name() -> None:
    said = ["It was reported 18 days after the incident.",
            "The claimed amount is 97% of the sum insured.",
            "The incident happened 13 days after cover started.",
            "No single fact stands out: the claim's facts together decided."]
    shown = {f.field: f.reasons for f in facts(CLAIM_EXAMPLE, said, "EUR")}
    assert shown["report_date"] == (said[0],)
    assert shown["claimed_amount"] == (said[1],)
    assert shown["policy_start_date"] == (said[2],)
    assert sum(len(r) for r in shown.values()) == 3  # the catch-all names no fact
    assert np.all([not shown[k] for k in ("witnesses", "line", "incident_date")])
