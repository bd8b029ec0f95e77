"""Seeded synthetic claims at first notice of loss, with their true class probabilities.

No real claim-fraud data can be had here, so the product ships this generator; its
known truth is what the trained models are measured against (the Bayes-optimal rule).

Data-generating process (one row = one claim; ``as_of`` is the data's "today"):

1. Covariates. A latent *opportunist* flag ``o ~ Bernoulli(0.12)`` makes red flags
   co-occur; it is never returned and the label does not depend on it given the
   fields (so the true probabilities below are exactly P(class | fields)).
   - line: motor 50 %, home 30 %, health 20 %; claimant age 18 + Gamma(4, 7), <= 95.
   - sum insured: log-normal by line (medians 15,000 / 150,000 / 20,000 EUR).
   - claimed amount = ratio x sum insured, ratio ~ Beta(1.2, 6), at least 50 EUR, in
     cents; 10 % of honest amounts are round hundreds. Opportunists: 60 % claim
     80-100 % of the sum insured and 70 % round to 500.
   - days from cover start to incident ~ U(0, 2000); 60 % of opportunists claim
     within Exp(mean 20) days of cover starting.
   - days from incident to report ~ Exp(mean 4); 5 % of honest and 50 % of
     opportunist claims are reported 30-150 days late.
   - prior claims in 3 years ~ Poisson(0.4) (opportunists 1.2); witnesses ~
     Poisson(0.8 motor, 0.3 home, 0.2 health), x0.4 for opportunists.
   - police or medical report present with probability 0.7 motor, 0.6 home,
     0.85 health (0.3 less for opportunists).
   - documents attached = required for the line (motor 3, home 3, health 2)
     - Binomial(required, 0.12) + Poisson(0.5).
   - description: a line-specific sentence plus each of the stock phrases
     (``features.STOCK_PHRASES``) with probability 0.03 (opportunists 0.25).
2. Labels: utilities ``u_valid = 0``,
   ``u_fraud = -4.4 + 1.8 [cover < 30 d] + 0.9 [30 <= cover < 90 d]
   + 1.3 [amount >= 80 % of sum insured and a multiple of 500] + 0.4 [multiple of 100]
   + 0.9 [reported > 30 d after] + 0.9 min(stock phrases, 3) + 0.35 min(prior, 5)
   - 0.5 [a witness] - 0.6 [report present] + 0.4 [claimant under 25]``,
   ``u_review = -3.4 + 2.6 [required report missing] + 1.3 min(documents missing, 3)``,
   where a report is required for every health claim, for motor claims over
   5,000 EUR and home claims over 10,000 EUR. Class probabilities are
   ``0.97 softmax(u) + 0.01`` (the 3 % is label noise: a uniformly random class);
   the label is drawn from them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from quoteflow.products.claims.features import (
    CLASSES,
    LINES,
    REQUIRED_DOCUMENTS,
    STOCK_PHRASES,
    Columns,
    report_required,
)

GENERATOR_VERSION = "1"
DEFAULT_AS_OF = dt.date(2026, 11, 30)
LABEL_NOISE = 0.03
_LINE_P = (0.5, 0.3, 0.2)
_SUM_MEDIAN = {"motor": 15_000.0, "home": 150_000.0, "health": 20_000.0}
_SUM_SIGMA = {"motor": 0.5, "home": 0.6, "health": 0.4}
_WITNESS_MEAN = {"motor": 0.8, "home": 0.3, "health": 0.2}
_REPORT_P = {"motor": 0.7, "home": 0.6, "health": 0.85}
_TEXT = {
    "motor": ("My car was hit at a junction on the way to work.",
              "Another vehicle reversed into my parked car.",
              "I skidded on a wet road and hit a barrier."),
    "home": ("Water from a burst pipe damaged the kitchen floor.",
             "The house was broken into while we were on holiday.",
             "A storm took tiles off the roof and rain came in."),
    "health": ("I slipped on the stairs and broke my wrist.",
               "I was treated in hospital after a fall at home.",
               "I needed physiotherapy after a sports injury."),
}


@dataclass(frozen=True)
class ClaimsSample:
    """Generated claims: request fields, labels (index into CLASSES), true probabilities."""

    fields: dict[str, np.ndarray]  # request field name -> column
    labels: np.ndarray  # int64
    true_probabilities: np.ndarray  # (n, 3) float64, columns CLASSES
    seed: int
    as_of: dt.date

    def __len__(self) -> int:
        return len(self.labels)

    def columns(self, rows: np.ndarray | slice = slice(None)) -> Columns:
        f = {k: v[rows] for k, v in self.fields.items() if k != "claim_reference"}
        return Columns(**f)

    def requests(self, rows: np.ndarray | range) -> list[dict[str, Any]]:
        """Rows as the JSON bodies an agent's app would POST."""
        out = []
        for i in rows:
            body: dict[str, Any] = {}
            for k, col in self.fields.items():
                v = col[i]
                body[k] = (str(v) if isinstance(v, np.datetime64) else
                           v.item() if isinstance(v, np.generic) else v)
            out.append(body)
        return out

    def fingerprint(self) -> str:
        """sha256 over every column's bytes, the labels and the true probabilities."""
        h = hashlib.sha256(f"claims-generator-{GENERATOR_VERSION}".encode())
        for k in sorted(self.fields):
            col = self.fields[k]
            h.update(k.encode())
            h.update("\x1f".join(map(str, col)).encode() if col.dtype == object
                     else col.tobytes())
        h.update(self.labels.tobytes())
        h.update(self.true_probabilities.tobytes())
        return h.hexdigest()


def _amounts(rng: np.random.Generator, n: int, o: np.ndarray, sum_insured: np.ndarray
             ) -> np.ndarray:
    ratio = rng.beta(1.2, 6.0, n)
    near = o & (rng.random(n) < 0.6)
    ratio[near] = rng.uniform(0.8, 1.0, near.sum())
    amount = np.maximum(np.round(ratio * sum_insured, 2), 50.0)
    hundreds = ~o & (rng.random(n) < 0.1)
    amount[hundreds] = np.maximum(np.round(amount[hundreds], -2), 100.0)
    fives = o & (rng.random(n) < 0.7)
    amount[fives] = np.clip(np.round(amount[fives] / 500) * 500, 500, sum_insured[fives])
    return np.asarray(amount)


def _descriptions(rng: np.random.Generator, line: np.ndarray, o: np.ndarray) -> np.ndarray:
    p = np.where(o, 0.25, 0.03)
    has = rng.random((len(line), len(STOCK_PHRASES))) < p[:, None]
    pick = rng.integers(0, 3, len(line))
    out = np.empty(len(line), dtype=object)
    for i in range(len(line)):
        extra = [f"{ph.capitalize()}." for ph, h in zip(STOCK_PHRASES, has[i], strict=True) if h]
        out[i] = " ".join([_TEXT[line[i]][pick[i]], *extra])
    return out


def _covariates(rng: np.random.Generator, n: int, as_of: dt.date) -> dict[str, np.ndarray]:
    o = rng.random(n) < 0.12
    line = np.asarray(LINES, dtype=object)[rng.choice(3, n, p=_LINE_P)]
    median = np.array([_SUM_MEDIAN[x] for x in line])
    sigma = np.array([_SUM_SIGMA[x] for x in line])
    step = np.where(line == "home", 1000.0, 500.0)
    sum_insured = np.maximum(np.round(median * np.exp(sigma * rng.standard_normal(n)) / step)
                             * step, step)
    cover_days = rng.integers(0, 2000, n)
    quick = o & (rng.random(n) < 0.6)
    cover_days[quick] = np.floor(rng.exponential(20.0, quick.sum())).astype(np.int64)
    delay = np.floor(rng.exponential(4.0, n)).astype(np.int64)
    late = rng.random(n) < np.where(o, 0.5, 0.05)
    delay[late] = rng.integers(30, 151, late.sum())
    end = np.datetime64(as_of, "D") - np.timedelta64(151, "D")
    incident = end - rng.integers(0, 900, n).astype("timedelta64[D]")
    required = np.array([REQUIRED_DOCUMENTS[x] for x in line])
    witness_mean = np.array([_WITNESS_MEAN[x] for x in line]) * np.where(o, 0.4, 1.0)
    report_p = np.array([_REPORT_P[x] for x in line]) - np.where(o, 0.3, 0.0)
    return {
        "claimant_age": np.minimum(18 + np.floor(rng.gamma(4.0, 7.0, n)), 95).astype(np.int64),
        "line": line,
        "policy_start_date": incident - cover_days.astype("timedelta64[D]"),
        "incident_date": incident,
        "report_date": incident + delay.astype("timedelta64[D]"),
        "claimed_amount": _amounts(rng, n, o, sum_insured),
        "sum_insured": sum_insured,
        "prior_claims_3y": rng.poisson(np.where(o, 1.2, 0.4)).astype(np.int64),
        "police_or_medical_report": rng.random(n) < report_p,
        "witnesses": rng.poisson(witness_mean).astype(np.int64),
        "documents_attached": np.maximum(required - rng.binomial(required, 0.12)
                                         + rng.poisson(0.5, n), 0).astype(np.int64),
        "incident_description": _descriptions(rng, line, o),
    }


def true_probabilities(cols: Columns) -> np.ndarray:
    """P(valid, fraud, review | fields) under the process in the module docstring."""
    cover = cols.days_cover_to_incident
    amount, insured = cols.claimed_amount, cols.sum_insured
    phrases = np.minimum(cols.phrase_flags.sum(axis=1), 3)
    u_fraud = (-4.4 + 1.8 * (cover < 30) + 0.9 * ((cover >= 30) & (cover < 90))
               + 1.3 * ((amount >= 0.8 * insured) & cols.multiple_of(500))
               + 0.4 * cols.multiple_of(100) + 0.9 * (cols.days_incident_to_report > 30)
               + 0.9 * phrases + 0.35 * np.minimum(cols.prior_claims_3y, 5)
               - 0.5 * (cols.witnesses > 0) - 0.6 * cols.police_or_medical_report
               + 0.4 * (cols.claimant_age < 25))
    missing_report = report_required(cols.line, amount) & ~cols.police_or_medical_report
    u_review = -3.4 + 2.6 * missing_report + 1.3 * np.minimum(cols.documents_missing, 3)
    u = np.stack([np.zeros(len(cover)), u_fraud, u_review], axis=1)
    e = np.exp(u - u.max(axis=1, keepdims=True))
    return np.asarray((1 - LABEL_NOISE) * e / e.sum(axis=1, keepdims=True)
                      + LABEL_NOISE / len(CLASSES))


def generate(n: int, seed: int, as_of: dt.date = DEFAULT_AS_OF) -> ClaimsSample:
    """``n`` claims; the same ``n``, ``seed`` and ``as_of`` give the same claims."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    fields: dict[str, np.ndarray] = {
        "claim_reference": np.array([f"CLM-{as_of.year}-{i:06d}" for i in range(1, n + 1)],
                                    dtype=object)}
    fields.update(_covariates(rng, n, as_of))
    sample_cols = Columns(**{k: v for k, v in fields.items() if k != "claim_reference"})
    p = true_probabilities(sample_cols)
    u = rng.random(n)
    labels = (u[:, None] > np.cumsum(p, axis=1)).sum(axis=1).astype(np.int64)
    return ClaimsSample(fields, np.minimum(labels, len(CLASSES) - 1), p, seed, as_of)
