"""Every Prometheus metric quoteflow exposes, in one place.

Conventions: base units (``_seconds``), counters end in ``_total``, labels are
low-cardinality (color, outcome, stage, feature: never a customer or quote id).
The chart's rules and dashboard (charts/quoteflow/files/) query these names.
Each process exposes the ones its service touches (the default registry).
"""

from __future__ import annotations

import functools
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, Info

# Resolve 5 ms .. 1 s with a bucket boundary at exactly the 200 ms budget.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1,
                   0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.5)
STAGE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2,
                 0.5, 1.0)
# Green/Blue premium ratio; 0.9 and 1.1 bound the "moved by more than 10%" alert.
RATIO_BUCKETS = (0.5, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 1.0, 1.01, 1.02, 1.05, 1.1, 1.15,
                 1.2, 1.25, 1.5, 2.0)

# --- router ---------------------------------------------------------------------------
QUOTE_DURATION = Histogram(
    "quoteflow_quote_duration_seconds",
    "End-to-end quote latency at the router, by serving color and outcome "
    "(ok, failover, rejected, error)",
    ["color", "outcome"], buckets=LATENCY_BUCKETS)
QUOTES = Counter(
    "quoteflow_quotes_total", "Quote requests answered, by serving color and HTTP status",
    ["color", "status"])
QUOTES_SHED = Counter(
    "quoteflow_quotes_shed_total", "Quotes refused at once with 503 and Retry-After because "
    "the router could not answer them inside the budget, by predictor (in_flight, loop_lag); "
    "also counted in quoteflow_quotes_total as color none, status 503", ["reason"])
QUOTES_IN_FLIGHT = Gauge(
    "quoteflow_quotes_in_flight", "Quotes the router is working on now (admitted, not yet "
    "answered): the admission control's first predictor, and the HPA's signal")
EVENT_LOOP_LAG = Gauge(
    "quoteflow_router_event_loop_lag_seconds", "How late the router's event loop ran its "
    "last periodic tick: the admission control's second predictor")
GUARDRAIL_HITS = Counter(
    "quoteflow_guardrail_hits_total", "Quotes whose price a guardrail moved (floor, ceiling, "
    "renewal_cap, enbp: the product's rules), by serving color and rule", ["color", "rule"])
FAILOVERS = Counter(
    "quoteflow_failovers_total", "Quotes retried on the other color after the assigned one "
    "failed, by the color that failed and why", ["from_color", "reason"])
UPSTREAM_DURATION = Histogram(
    "quoteflow_upstream_duration_seconds",
    "Router's calls to a stage (preprocess, inference) as seen from the router",
    ["stage", "color"], buckets=STAGE_BUCKETS)
SHADOW_SENT = Counter("quoteflow_shadow_sent_total", "Shadow predictions sent", ["color"])
SHADOW_DROPPED = Counter(
    "quoteflow_shadow_dropped_total", "Shadow predictions not sent, by reason "
    "(queue_full, target_down, rate_cap; not_sampled is not counted)", ["reason"])
SHADOW_FAILED = Counter(
    "quoteflow_shadow_failed_total", "Shadow predictions that failed or timed out", ["reason"])
SHADOW_RATIO = Histogram(
    "quoteflow_shadow_premium_ratio", "Green premium divided by Blue premium on shadowed quotes",
    buckets=RATIO_BUCKETS)
SHADOW_MEASURE = Histogram(
    "quoteflow_shadow_measure", "A product's other shadow measures of Green against Blue "
    "(claims: decision agreement 0/1, probability shift)", ["measure"],
    buckets=(0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 0.99, 1.0))
# Measures with a metric of their own (the rules, the dashboard and rollout gates read it).
SHADOW_MEASURES = {"premium_ratio": SHADOW_RATIO}


@functools.cache
def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: labels() checks and locks on every call,
    and the hot paths call it several times a request (labels are low-cardinality)."""
    return metric.labels(*labels)


def observe_shadow(measures: dict[str, float]) -> None:
    for name, value in measures.items():
        hist = SHADOW_MEASURES.get(name)
        (hist if hist is not None else SHADOW_MEASURE.labels(name)).observe(value)


TRAFFIC_GREEN_WEIGHT = Gauge(
    "quoteflow_traffic_green_weight_percent", "Share of live traffic assigned to Green, percent")
TRAFFIC_SHADOW_ENABLED = Gauge(
    "quoteflow_traffic_shadow_enabled", "1 when shadow comparison is on")
TRAFFIC_SHADOW_SAMPLE = Gauge(
    "quoteflow_traffic_shadow_sample_ratio", "Share of quotes shadowed when shadow is on")
POLICY_GENERATION = Gauge(
    "quoteflow_traffic_policy_generation", "Generation of the traffic policy this router runs")
# Effective-dated tariffs: the schedule (one series per scheduled tariff, by its Blue
# version: a handful, replaced whole on each policy change) and the quotes each prices.
TARIFFS_SCHEDULED = Gauge(
    "quoteflow_traffic_tariffs_scheduled", "Tariffs scheduled in the running policy")
TARIFF_EFFECTIVE = Gauge(
    "quoteflow_traffic_tariff_effective_timestamp_seconds",
    "When each scheduled tariff takes effect (covers starting then or later)", ["blue_version"])
QUOTES_BY_TARIFF = Counter(
    "quoteflow_quotes_by_tariff_total",
    "Quotes priced under the current tariff or a scheduled one (their cover starts later)",
    ["tariff"])
for _t in ("current", "scheduled"):
    QUOTES_BY_TARIFF.labels(_t)
POLICY_RELOAD_ERRORS = Counter(
    "quoteflow_traffic_policy_reload_errors_total", "Policy documents refused on reload")
UPSTREAM_READY = Gauge(
    "quoteflow_upstream_ready", "1 when the router considers the upstream ready", ["color"])

# --- preprocess -----------------------------------------------------------------------
PREPROCESS_DURATION = Histogram(
    "quoteflow_preprocess_duration_seconds",
    "Validation and feature derivation inside preprocess, by outcome (ok, rejected)",
    ["outcome"], buckets=STAGE_BUCKETS)
PREPROCESS_REJECTIONS = Counter(
    "quoteflow_preprocess_rejected_fields_total", "Request fields refused, by field: a "
    "request contract's field name, or other (unknown fields, the body as a whole)",
    ["field"])

# --- inference ------------------------------------------------------------------------
PREDICT_DURATION = Histogram(
    "quoteflow_inference_predict_duration_seconds",
    "Predict endpoint time inside inference (parse, check, run, encode)",
    buckets=STAGE_BUCKETS)
ONNX_RUN_DURATION = Histogram(
    "quoteflow_inference_onnx_run_duration_seconds", "ONNX Runtime session.run time",
    buckets=STAGE_BUCKETS)
PREDICT_ROWS = Counter("quoteflow_inference_rows_total", "Feature rows scored")
PREDICT_REJECTED = Counter(
    "quoteflow_inference_rejected_total", "Predict requests refused, by reason", ["reason"])
MODEL_INFO = Info("quoteflow_model", "The model version this inference process serves")
FEATURE_PSI = Gauge(
    "quoteflow_feature_psi",
    "Population stability index of a feature over the recent window against the training "
    "reference histogram", ["feature"])
DRIFT_WINDOW_ROWS = Gauge("quoteflow_drift_window_rows", "Rows in the drift window")
