"""The claims generator: reproducible by seed, and its documented effects are in the data."""

from __future__ import annotations

import numpy as np
import pytest

from quoteflow.products.claims import features, generator
from quoteflow.products.claims.contract import ClaimRequest

FRAUD, REVIEW = features.CLASSES.index("fraud"), features.CLASSES.index("review")


@pytest.fixture(scope="module")
def sample() -> generator.ClaimsSample:
    return generator.generate(40_000, seed=11)


def test_same_seed_same_claims_other_seed_other_claims() -> None:
    a, b, c = generator.generate(500, 3), generator.generate(500, 3), generator.generate(500, 4)
    assert a.fingerprint() == b.fingerprint()
    assert a.requests(range(500)) == b.requests(range(500))
    assert a.fingerprint() != c.fingerprint()


def test_true_probabilities_are_distributions_the_labels_follow(
        sample: generator.ClaimsSample) -> None:
    p = sample.true_probabilities
    assert np.allclose(p.sum(axis=1), 1.0)
    assert p.min() >= generator.LABEL_NOISE / 3 - 1e-12
    # 40,000 draws: the label shares match the mean probabilities to sampling error
    shares = np.bincount(sample.labels, minlength=3) / len(sample)
    assert np.abs(shares - p.mean(axis=0)).max() < 0.01
    assert 0.03 < shares[FRAUD] < 0.10 and 0.06 < shares[REVIEW] < 0.18


def _rate(labels: np.ndarray, cls: int, mask: np.ndarray) -> float:
    return float(np.mean(labels[mask] == cls))


def test_documented_effects_are_visible(sample: generator.ClaimsSample) -> None:
    c, y = sample.columns(), sample.labels
    cover, delay = c.days_cover_to_incident, c.days_incident_to_report
    phrases = c.phrase_flags.any(axis=1)
    round_near = (c.claimed_amount >= 0.8 * c.sum_insured) & c.multiple_of(500)
    missing_report = (features.report_required(c.line, c.claimed_amount)
                      & ~c.police_or_medical_report)
    effects = {
        "fraud soon after cover starts": (FRAUD, cover < 30, cover >= 90),
        "fraud with stock phrases": (FRAUD, phrases, ~phrases),
        "fraud with round amounts near the sum insured": (FRAUD, round_near, ~round_near),
        "fraud with late reports": (FRAUD, delay > 30, delay <= 30),
        "review when the required report is missing": (REVIEW, missing_report, ~missing_report),
        "review when documents are missing": (REVIEW, c.documents_missing > 0,
                                              c.documents_missing == 0),
    }
    for what, (cls, flagged, rest) in effects.items():
        ratio = _rate(y, cls, flagged) / _rate(y, cls, rest)
        print(f"{what}: {ratio:.1f}x")
        assert ratio > 2, what


def test_every_generated_claim_is_a_valid_request(sample: generator.ClaimsSample) -> None:
    bodies = sample.requests(range(2_000))
    reqs = [ClaimRequest.model_validate(b) for b in bodies]
    assert [r.claim_reference for r in reqs[:2]] == ["CLM-2026-000001", "CLM-2026-000002"]
    assert features.errors(sample.columns(), sample.as_of) == []


def test_no_claims_is_refused() -> None:
    with pytest.raises(ValueError, match="n must be at least 1"):
        generator.generate(0, 1)
