"""The local Prometheus: generated config, a real `prometheus` process scraping a small
exporter, the chart's rules loaded and evaluated, the HTTP API client."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from quoteflow.observability import RULES_DIR
from quoteflow.observability.prometheus import (
    PrometheusError,
    PrometheusProcess,
    render_config,
    start_prometheus,
)
from tests.observability.helpers import load_rules


def test_config_scrapes_every_target_each_second_with_color_labels() -> None:
    doc = render_config([("router", None, "127.0.0.1:8000"),
                         ("inference", "blue", "127.0.0.1:8002"),
                         ("inference", "green", "127.0.0.1:8003")])
    assert doc["global"]["scrape_interval"] == "1s"
    assert doc["global"]["evaluation_interval"] == "1s"
    assert doc["rule_files"] == [str(RULES_DIR.resolve() / "*.yaml")]
    jobs = {j["job_name"]: j["static_configs"] for j in doc["scrape_configs"]}
    assert jobs["router"] == [{"targets": ["127.0.0.1:8000"], "labels": {}}]
    assert jobs["inference"] == [{"targets": ["127.0.0.1:8002"], "labels": {"color": "blue"}},
                                 {"targets": ["127.0.0.1:8003"], "labels": {"color": "green"}}]


class Exporter(BaseHTTPRequestHandler):
    """A router-like /metrics whose quote counter grows on every scrape."""

    scrapes = 0

    def do_GET(self) -> None:
        Exporter.scrapes += 1
        n = Exporter.scrapes
        body = (
            "# TYPE quoteflow_quotes_total counter\n"
            f'quoteflow_quotes_total{{color="blue",status="200"}} {10 * n}\n'
            f'quoteflow_quotes_total{{color="green",status="200"}} {2 * n}\n'
            "# TYPE quoteflow_traffic_policy_generation gauge\n"
            "quoteflow_traffic_policy_generation 4\n").encode()
        self.send_response(200)
        self.send_header("content-type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProcess]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Exporter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    prom = start_prometheus([("router", None, f"127.0.0.1:{server.server_port}")],
                            tmp_path_factory.mktemp("prometheus"), port=None)
    try:
        yield prom
    finally:
        prom.stop()
        server.shutdown()


def test_prometheus_scrapes_and_answers_queries(prometheus: PrometheusProcess) -> None:
    assert prometheus.url.startswith("http://127.0.0.1:")
    result = prometheus.wait_for("quoteflow_traffic_policy_generation")
    assert result[0]["metric"]["job"] == "router"
    assert result[0]["value"][1] == "4"
    assert list(prometheus.target_health().values()) == ["up"]


def test_chart_rules_are_loaded_and_evaluated(prometheus: PrometheusProcess) -> None:
    loaded = {g["name"] for g in prometheus.rules()}
    assert loaded == {g["name"] for g in load_rules()["groups"]}
    rates = prometheus.wait_for("color:quoteflow_quotes:rate5m")
    by_color = {r["metric"]["color"]: float(r["value"][1]) for r in rates}
    assert set(by_color) == {"blue", "green"}
    assert by_color["blue"] == pytest.approx(5 * by_color["green"])
    errors = prometheus.wait_for("color:quoteflow_quote_errors_per_quotes:ratio_rate5m")
    assert {float(r["value"][1]) for r in errors} == {0.0}


def test_bad_promql_raises(prometheus: PrometheusProcess) -> None:
    with pytest.raises(PrometheusError, match="parse error"):
        prometheus.query("sum(")


def test_stop_ends_the_process(tmp_path: Path) -> None:
    prom = start_prometheus([], tmp_path, port=None)
    assert prom.ready()
    prom.stop()
    assert prom.proc.returncode is not None
    assert not prom.ready()
