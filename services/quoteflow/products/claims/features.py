"""The one feature derivation of claim triage: training, the live path and batch scoring.

Vectorised over numpy columns (``Columns``); the live path calls it with one row. The
free-text description becomes features here too (stock-phrase flags, phrase count,
word count), by a fixed normalisation, so text cannot be read one way in training and
another when serving. A model artifact records ``FEATURE_SCHEMA_VERSION``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from quoteflow.products.base import FieldProblem

FEATURE_SCHEMA_VERSION = "claims-1"
CLASSES: tuple[str, ...] = ("valid", "fraud", "review")  # index = the model's class id
LINES: tuple[str, ...] = ("motor", "home", "health")
# Documents a claim of each line needs (claim form, photos, estimate / invoice...).
REQUIRED_DOCUMENTS = {"motor": 3, "home": 3, "health": 2}
# A police (motor, home) or medical (health) report is required above these amounts.
REPORT_REQUIRED_ABOVE = {"motor": 5_000.0, "home": 10_000.0, "health": 0.0}
# Wording counter-fraud teams see again and again in staged claims (normalised form).
STOCK_PHRASES: tuple[str, ...] = (
    "came out of nowhere", "nobody else saw it", "the receipts were lost",
    "i had just bought it", "paid in cash", "severe whiplash",
)
MIN_AGE, MAX_AGE = 18, 100
MAX_AMOUNT_TO_SUM_INSURED = 1.5
MAX_SUM_INSURED = 10_000_000.0
MAX_REPORT_DELAY_DAYS = 3 * 365  # the policy's notification period
MAX_COUNT = {"prior_claims_3y": 50, "witnesses": 100, "documents_attached": 100}

RAW_FEATURES: tuple[str, ...] = (
    "claimant_age", "days_cover_to_incident", "days_incident_to_report", "claimed_amount",
    "sum_insured", "amount_to_sum_insured", "prior_claims_3y", "witnesses",
    "documents_attached", "description_words",
)
PHRASE_FEATURES: tuple[str, ...] = tuple(
    "phrase_" + p.replace(" ", "_") for p in STOCK_PHRASES)
FEATURE_NAMES: tuple[str, ...] = (
    *RAW_FEATURES,
    *(f"line_{x}" for x in LINES),
    "report_present", "required_report_missing", "documents_missing",
    "log_claimed_amount", "log_days_cover", "log_days_report",
    "cover_under_30d", "cover_30_to_90d", "report_after_30d",
    "amount_round_100", "amount_round_500", "near_sum_insured", "claimant_under_25",
    *PHRASE_FEATURES, "stock_phrase_count",
)
N_FEATURES = len(FEATURE_NAMES)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalise(text: str) -> str:
    """Lower case, runs of anything but letters and digits to one space, space-padded."""
    return f" {_NON_WORD.sub(' ', text.lower()).strip()} "


_PHRASES_NORMALISED = tuple(normalise(p) for p in STOCK_PHRASES)


def report_required(line: np.ndarray, amount: np.ndarray) -> np.ndarray:
    threshold = np.array([REPORT_REQUIRED_ABOVE.get(x, 0.0) for x in line], dtype=np.float64)
    return amount > threshold


@dataclass
class Columns:
    """Claim facts column by column (the request's fields but its reference)."""

    claimant_age: np.ndarray  # int64
    line: np.ndarray  # object (str)
    policy_start_date: np.ndarray  # datetime64[D]
    incident_date: np.ndarray
    report_date: np.ndarray
    claimed_amount: np.ndarray  # float64
    sum_insured: np.ndarray
    prior_claims_3y: np.ndarray  # int64
    police_or_medical_report: np.ndarray  # bool
    witnesses: np.ndarray  # int64
    documents_attached: np.ndarray  # int64
    incident_description: np.ndarray  # object (str)

    def __len__(self) -> int:
        return len(self.line)

    def subset(self, rows: np.ndarray) -> Columns:
        return Columns(**{f: getattr(self, f)[rows] for f in self.__dataclass_fields__})

    @cached_property
    def days_cover_to_incident(self) -> np.ndarray:
        return np.asarray(self.incident_date - self.policy_start_date, dtype=np.int64)

    @cached_property
    def days_incident_to_report(self) -> np.ndarray:
        return np.asarray(self.report_date - self.incident_date, dtype=np.int64)

    @cached_property
    def documents_missing(self) -> np.ndarray:
        required = np.array([REQUIRED_DOCUMENTS.get(x, 0) for x in self.line], dtype=np.int64)
        return np.asarray(np.maximum(required - self.documents_attached, 0))

    @cached_property
    def normalised_text(self) -> list[str]:
        return [normalise(t) for t in self.incident_description]

    @cached_property
    def phrase_flags(self) -> np.ndarray:
        """(n, len(STOCK_PHRASES)) bool: the description contains the phrase."""
        return np.array([[p in t for p in _PHRASES_NORMALISED] for t in self.normalised_text],
                        dtype=bool).reshape(len(self), len(STOCK_PHRASES))

    def multiple_of(self, step: int) -> np.ndarray:
        a = np.asarray(self.claimed_amount, dtype=np.float64)
        return np.abs(a - step * np.round(a / step)) < 0.005


def _range_checks(c: Columns) -> list[tuple[str, np.ndarray, object]]:
    age, amount, insured = c.claimant_age, c.claimed_amount, c.sum_insured
    checks: list[tuple[str, np.ndarray, object]] = [
        ("claimant_age", (age < MIN_AGE) | (age > MAX_AGE),
         lambda i: f"claimant is {age[i]}, outside {MIN_AGE}-{MAX_AGE}"),
        ("line", np.array([x not in LINES for x in c.line], dtype=bool),
         lambda i: f"unknown line {c.line[i]!r}; known: {', '.join(LINES)}"),
        ("claimed_amount", ~(amount > 0), lambda i: f"{amount[i]:g} must be greater than 0"),
        ("sum_insured", ~(insured > 0), lambda i: f"{insured[i]:g} must be greater than 0"),
        ("sum_insured", insured > MAX_SUM_INSURED,
         lambda i: f"{insured[i]:,.2f} is above the largest sum insured written "
                   f"({MAX_SUM_INSURED:,.0f})"),
        ("claimed_amount", (insured > 0) & (amount > MAX_AMOUNT_TO_SUM_INSURED * insured),
         lambda i: f"{amount[i]:,.2f} is more than {MAX_AMOUNT_TO_SUM_INSURED:g} times the "
                   f"sum insured ({insured[i]:,.2f})"),
    ]
    for name, high in MAX_COUNT.items():
        v = getattr(c, name)
        checks.append((name, (v < 0) | (v > high),
                       lambda i, v=v, high=high: f"{v[i]} is outside 0-{high}"))
    blank = np.array([not t.strip() for t in c.incident_description], dtype=bool)
    checks.append(("incident_description", blank, lambda i: "is empty"))
    return checks


def errors(c: Columns, today: dt.date) -> list[FieldProblem]:
    """Every business-rule violation, fields named as in the API; same live and in batch."""
    day = np.datetime64(today, "D")
    cover, delay = c.days_cover_to_incident, c.days_incident_to_report
    checks = [
        *_range_checks(c),
        ("incident_date", cover < 0,
         lambda i: f"is before the policy start date ({c.policy_start_date[i]}): "
                   "the incident is not covered"),
        ("incident_date", c.incident_date > day, lambda i: f"is after today ({today})"),
        ("report_date", delay < 0,
         lambda i: f"is before the incident date ({c.incident_date[i]})"),
        ("report_date", c.report_date > day, lambda i: f"is after today ({today})"),
        ("report_date", delay > MAX_REPORT_DELAY_DAYS,
         lambda i: f"is {delay[i]} days after the incident, beyond the "
                   f"{MAX_REPORT_DELAY_DAYS}-day notification period"),
    ]
    # (row, check) pairs in row order, checks in the order above within a row
    bad = np.argwhere(np.stack([np.asarray(m, dtype=bool) for _, m, _ in checks], axis=1))
    return [FieldProblem(int(i), checks[k][0], checks[k][2](i))
            for i, k in bad]


def features(c: Columns) -> np.ndarray:
    """The model input, float32 (n, N_FEATURES), columns FEATURE_NAMES; rows without errors."""
    amount = np.asarray(c.claimed_amount, dtype=np.float64)
    insured = np.asarray(c.sum_insured, dtype=np.float64)
    cover, delay = c.days_cover_to_incident, c.days_incident_to_report
    flags = c.phrase_flags
    line = np.asarray(c.line, dtype=object)
    ratio = amount / insured
    cols = [
        c.claimant_age, cover, delay, amount, insured, ratio, c.prior_claims_3y, c.witnesses,
        c.documents_attached, [len(t.split()) for t in c.normalised_text],
        *(line == x for x in LINES),
        c.police_or_medical_report,
        report_required(line, amount) & ~np.asarray(c.police_or_medical_report, dtype=bool),
        c.documents_missing,
        np.log1p(amount), np.log1p(np.maximum(cover, 0)), np.log1p(np.maximum(delay, 0)),
        cover < 30, (cover >= 30) & (cover < 90), delay > 30,
        c.multiple_of(100), c.multiple_of(500), ratio >= 0.8, c.claimant_age < 25,
        *flags.T, flags.sum(axis=1),
    ]
    out = np.empty((len(c), N_FEATURES), dtype=np.float32)
    for j, col in enumerate(cols):
        out[:, j] = np.asarray(col, dtype=np.float64)
    return out


def reference_edges() -> dict[str, list[float]]:
    """Fixed histogram edges per raw feature for drift (PSI); fixed by the schema."""
    return {
        "claimant_age": [18, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 80, 101],
        "days_cover_to_incident": [0, 7, 30, 90, 180, 365, 730, 1095, 1460, 2000, 36500],
        "days_incident_to_report": [0, 1, 2, 4, 7, 14, 30, 60, 120, 1096],
        "claimed_amount": [0, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000,
                           15_000_001],
        "sum_insured": [0, 5000, 10000, 15000, 20000, 30000, 50000, 100000, 200000, 500000,
                        10_000_001],
        "amount_to_sum_insured": [0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 0.9, 1.0, 1.51],
        "prior_claims_3y": [0, 1, 2, 3, 5, 51],
        "witnesses": [0, 1, 2, 3, 101],
        "documents_attached": [0, 1, 2, 3, 4, 6, 101],
        "description_words": [0, 5, 10, 15, 20, 30, 50, 400],
    }


assert FEATURE_NAMES[: len(RAW_FEATURES)] == RAW_FEATURES
