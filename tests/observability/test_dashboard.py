"""The Grafana dashboard: type-checked against @grafana/schema with tsc, every query
parses (promtool) and names only metrics quoteflow exposes or the rules record."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import yaml

from tests.observability.helpers import (
    DASHBOARD_FILE,
    NPM_DIR,
    dashboard_panels,
    dashboard_queries,
    exposed_metric_names,
    load_dashboard,
    metric_names,
    promtool,
    recording_rule_names,
)

# Grafana stores string enums (ThresholdsMode, FieldColorModeId...) as their values;
# Json<T> turns each enum into the union of its values, keeping every other type
# (and the excess-property check on object literals) as strict as the schema.
PRELUDE = """\
import type { Dashboard } from '@grafana/schema';
type Json<T> = T extends string ? `${T}`
  : T extends readonly (infer U)[] ? Json<U>[]
  : T extends object ? { [K in keyof T]: Json<T[K]> }
  : T;
"""


def typecheck(dashboard_json: str) -> subprocess.CompletedProcess[str]:
    tsc = NPM_DIR / "node_modules" / ".bin" / "tsc"
    schema = NPM_DIR / "node_modules" / "@grafana" / "schema"
    assert tsc.exists() and schema.exists(), (
        f"{NPM_DIR}/node_modules lacks typescript or @grafana/schema: run scripts/bootstrap.sh")
    # inside NPM_DIR so that node module resolution finds its node_modules
    with tempfile.TemporaryDirectory(dir=NPM_DIR, prefix="check-") as tmp:
        src = Path(tmp) / "dashboard.ts"
        src.write_text(f"{PRELUDE}const d: Json<Dashboard> = {dashboard_json};\n"
                       "export default d;\n")
        return subprocess.run(
            [str(tsc), "--noEmit", "--strict", "--target", "es2020", "--module", "esnext",
             "--moduleResolution", "bundler", str(src)],
            capture_output=True, text=True, timeout=300)


def test_dashboard_type_checks_against_grafana_schema() -> None:
    r = typecheck(DASHBOARD_FILE.read_text())
    assert r.returncode == 0, r.stdout + r.stderr


def test_type_check_catches_a_wrong_type() -> None:
    # the check is not vacuous: a misspelled enum value and a string height fail
    d = load_dashboard()
    panel = next(p for p in d["panels"] if p["type"] == "timeseries")
    panel["gridPos"]["h"] = "8"
    panel["fieldConfig"]["defaults"]["thresholds"] = {"mode": "absolut", "steps": []}
    r = typecheck(json.dumps(d))
    assert r.returncode != 0
    assert "not assignable to type 'number'" in r.stdout
    assert '"absolut"' in r.stdout


def test_every_query_parses() -> None:
    # promtool check rules parses each expression offline, as a recording rule
    queries = dashboard_queries()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}:check", "expr": expr}
        for i, (_, _, expr) in enumerate(queries)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        yaml.safe_dump(rules, f)
        f.flush()
        r = subprocess.run([promtool(), "check", "rules", f.name], capture_output=True,
                           text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(queries)} rules found" in r.stdout


def test_queries_name_only_known_metrics() -> None:
    known = exposed_metric_names() | recording_rule_names()
    for title, ref, expr in dashboard_queries():
        names = metric_names(expr)
        assert names, f"{title}/{ref} selects no metric"
        assert names <= known, f"{title}/{ref}: unknown {names - known}"


def test_dashboard_covers_the_issue() -> None:
    queries = " ".join(expr for _, _, expr in dashboard_queries())
    for needle in ("quoteflow_quotes_total", "quote_errors_per_quotes",
                   "quote_duration_seconds:p99_5m", "slower_than_200ms",
                   "traffic_green_weight_percent", "traffic_shadow_enabled",
                   "shadow_premium_ratio_bucket", "quoteflow_feature_psi",
                   "quoteflow_upstream_duration_seconds", "quoteflow_preprocess_duration_seconds",
                   "quoteflow_inference_predict_duration_seconds",
                   "quoteflow_inference_onnx_run_duration_seconds",
                   "quoteflow_traffic_tariff_effective_timestamp_seconds",
                   "quoteflow_quotes_by_tariff_total", "quoteflow_ledger_binds_total",
                   "quoteflow_claims_reviewed_agreed_claims",
                   "quoteflow_claims_reviewed_fraud_caught_claims"):
        assert needle in queries, needle
    gates = {p["title"].split(":")[0] for p in dashboard_panels() if "gate (" in p["title"]}
    assert gates == {"Conversion gate (motor)", "Reviewer gate (claims)"}, gates
    latency = next(p for p in dashboard_panels() if "200 ms budget" in p["title"])
    steps = latency["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert any(s["value"] == 0.2 for s in steps), "no 200 ms threshold line"
    assert latency["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "line"


def test_panels_use_the_datasource_variable() -> None:
    d = load_dashboard()
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in dashboard_panels():
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${datasource}", p["title"]
