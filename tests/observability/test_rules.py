"""The chart's Prometheus rules: promtool accepts them, every alert fires and stays quiet
on synthetic series (rules_test.yaml), and they follow the mixin conventions."""

from __future__ import annotations

import re
import subprocess

from tests.observability.helpers import (
    RULES_FILE,
    RULES_TEST,
    all_rules,
    exposed_metric_names,
    metric_names,
    promtool,
    recording_rule_names,
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_promtool_check_rules() -> None:
    r = run(promtool(), "check", "rules", str(RULES_FILE))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_promtool_test_rules_every_alert_fires_and_stays_quiet() -> None:
    r = run(promtool(), "test", "rules", str(RULES_TEST))
    assert r.returncode == 0, r.stdout + r.stderr
    # rules_test.yaml must cover every alert both ways: firing (exp_alerts non-empty)
    # and quiet (exp_alerts: [])
    import yaml

    tests = yaml.safe_load(RULES_TEST.read_text())["tests"]
    fired, quiet = set(), set()
    for t in tests:
        for a in t.get("alert_rule_test", []):
            (fired if a.get("exp_alerts") else quiet).add(a["alertname"])
    alerts = {r["alert"] for r in all_rules() if "alert" in r}
    assert alerts - fired == set(), "alerts never shown firing"
    assert alerts - quiet == set(), "alerts never shown quiet"


def test_alerts_follow_conventions() -> None:
    alerts = [r for r in all_rules() if "alert" in r]
    assert len(alerts) >= 6
    for a in alerts:
        assert re.fullmatch(r"Quoteflow(?:[A-Z][a-z0-9]+)+", a["alert"]), a["alert"]
        assert a["labels"]["severity"] in {"critical", "warning", "info"}, a["alert"]
        assert a["annotations"]["summary"].strip(), a["alert"]
        assert a["annotations"]["description"].strip(), a["alert"]


def test_recording_rules_are_named_level_metric_operations() -> None:
    for name in recording_rule_names():
        assert re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", name), name
    wanted = {f"color:quoteflow_quote_duration_seconds:p{q}_5m" for q in (50, 95, 99)}
    wanted |= {"color:quoteflow_quotes:rate5m",
               "color:quoteflow_quote_errors_per_quotes:ratio_rate5m"}
    assert wanted <= recording_rule_names()


def test_rules_query_only_metrics_we_expose() -> None:
    known = exposed_metric_names() | recording_rule_names()
    for rule in all_rules():
        unknown = metric_names(rule["expr"]) - known
        assert not unknown, f"{rule.get('record') or rule.get('alert')}: {unknown}"


def test_metric_name_lexer() -> None:
    expr = ('histogram_quantile(0.99, sum by (le, color) (rate(a_bucket{le="0.2", '
            'x=~"b|c"}[5m] offset 1h))) > on (job) group_left max by (job) (b:c:d) '
            'or vector(0) and 1e-3 < bool e_total')
    assert metric_names(expr) == {"a_bucket", "b:c:d", "e_total"}
