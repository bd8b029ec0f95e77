"""Shared by the observability tests and tests/e2e: rule and dashboard files, PromQL
metric names, the names quoteflow exposes."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from quoteflow import metrics
from quoteflow.observability import DASHBOARDS_DIR, REPO_ROOT, RULES_DIR

RULES_FILE = RULES_DIR / "quoteflow.rules.yaml"
DASHBOARD_FILE = DASHBOARDS_DIR / "quoteflow.json"
RULES_TEST = Path(__file__).with_name("rules_test.yaml")
NPM_DIR = REPO_ROOT / "var" / "npm"

# What Grafana substitutes in panel queries, replaced by something Prometheus accepts.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}


def promtool() -> str:
    """The promtool path; a missing promtool fails the test (bootstrap installs it)."""
    path = shutil.which("promtool")
    assert path, "promtool is not installed: run scripts/bootstrap.sh (Debian `prometheus`)"
    return path


def load_rules() -> dict[str, Any]:
    return yaml.safe_load(RULES_FILE.read_text())


def all_rules() -> list[dict[str, Any]]:
    return [r for g in load_rules()["groups"] for r in g["rules"]]


def recording_rule_names() -> set[str]:
    return {r["record"] for r in all_rules() if "record" in r}


def alert_expr(name: str) -> str:
    return next(r["expr"] for r in all_rules() if r.get("alert") == name)


def load_dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_FILE.read_text())


def dashboard_panels() -> list[dict[str, Any]]:
    """Every non-row panel, including those nested in collapsed rows."""
    out: list[dict[str, Any]] = []
    for p in load_dashboard()["panels"]:
        if p["type"] == "row":
            out.extend(p.get("panels", []))
        else:
            out.append(p)
    return out


def dashboard_queries() -> list[tuple[str, str, str]]:
    """(panel title, refId, PromQL with Grafana variables substituted) for every target."""
    out = []
    for p in dashboard_panels():
        for t in p.get("targets", []):
            expr = t["expr"]
            for var, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(var, value)
            out.append((p["title"], t["refId"], expr))
    return out


def exposed_metric_names() -> set[str]:
    """Every sample name the processes can expose, from the metric objects in metrics.py."""
    suffixes = {"counter": ("_total", "_created"), "gauge": ("",), "info": ("_info",),
                "histogram": ("_bucket", "_count", "_sum", "_created"),
                "summary": ("", "_count", "_sum", "_created")}
    names: set[str] = set()
    from quoteflow.ledger import metrics as ledger_metrics

    for obj in [*vars(metrics).values(), *vars(ledger_metrics).values()]:
        if isinstance(obj, MetricWrapperBase):
            for family in obj.describe():
                names.update(family.name + s for s in suffixes[family.type])
    # the desk's reviewer outcomes: a collector computed from its database when scraped
    from quoteflow.desk import outcome_metrics

    reg, _ = outcome_metrics.registry()
    names.update(family.name for family in reg.collect())
    return names


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_DURATION = re.compile(r"(?<![\w:])\d+(?:ms|s|m|h|d|w|y)\b")
_NUMBER = re.compile(r"(?<![\w:])(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
             "group_right", "offset", "bool", "inf", "nan", "atan2", "start", "end"}


def metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (a small lexer, enough for our queries:
    strings, label matchers, ranges, label lists, durations and numbers are dropped;
    identifiers followed by '(' are functions or aggregations)."""
    s = _STRINGS.sub('""', expr)
    s = re.sub(r"\{[^}]*\}", " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = _LABEL_LISTS.sub(" ", s)
    s = _DURATION.sub(" ", s)
    s = _NUMBER.sub(" ", s)
    names = set()
    for m in _IDENT.finditer(s):
        word = m.group()
        if word.lower() in _KEYWORDS or s[m.end():].lstrip().startswith("("):
            continue
        names.add(word)
    return names
