"""The reviewer outcomes as Prometheus gauges, computed from the desk's database when
scraped (they describe what is on record, which any desk replica can read, not events
one process saw).

Labels: ``model_version`` and ``color`` only: versions come from the registry through
triage answers and only the newest outcomes.MAX_VERSIONS are exported; colors are
blue and green (the triage contract). A rollout gate reads the counts, which add up
across replicas' scrapes the same way (every replica reports the whole database: use
max(), not sum(), over replicas).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from quoteflow.desk.outcomes import Outcome

LABELS = ("model_version", "color")
PREFIX = "quoteflow_claims_reviewed"
# (name suffix, help, attribute of Outcome)
GAUGES: tuple[tuple[str, str, str], ...] = (
    ("claims", "Reviewer decisions on triage answers of this model version and color",
     "reviewed"),
    ("agreed_claims", "... where the reviewer's label was triage's decision", "agreed"),
    ("fraud_flagged_claims", "... where triage said fraud", "fraud_flagged"),
    ("fraud_confirmed_claims", "... where the reviewer rejected the claim as fraud",
     "fraud_confirmed"),
    ("fraud_caught_claims", "... where both said fraud", "fraud_caught"),
    ("agreement_ratio", "Share of reviewed answers the reviewer agreed with", "agreement"),
    ("fraud_precision_ratio", "Share of triage's reviewed fraud answers the reviewer "
     "rejected as fraud (NaN: none yet)", "fraud_precision"),
    ("fraud_recall_ratio", "Share of reviewer-confirmed frauds triage had said fraud "
     "(among reviewed claims only; NaN: none yet)", "fraud_recall"),
)


class OutcomeCollector(Collector):
    def __init__(self) -> None:
        self.outcomes: Sequence[Outcome] = ()
        self.currency = ""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for suffix, text, attribute in GAUGES:
            g = GaugeMetricFamily(f"{PREFIX}_{suffix}", text, labels=LABELS)
            for o in self.outcomes:
                g.add_metric([o.model_version, o.color], float(getattr(o, attribute)))
            yield g
        cost = GaugeMetricFamily(
            f"{PREFIX}_decision_cost", "Cost of the reviewed triage decisions under the "
            f"product's cost matrix, the reviewer's label taken as the truth "
            f"({self.currency or 'the cost table currency'})", labels=LABELS)
        for o in self.outcomes:
            cost.add_metric([o.model_version, o.color], o.cost)
        yield cost


def registry() -> tuple[CollectorRegistry, OutcomeCollector]:
    """The desk's own registry (one per app: no global state between test apps)."""
    reg = CollectorRegistry(auto_describe=True)
    collector = OutcomeCollector()
    reg.register(collector)
    return reg, collector
