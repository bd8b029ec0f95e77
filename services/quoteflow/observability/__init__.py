"""Observability: feature drift (PSI), a local Prometheus, and the chart's rules and dashboard.

The rule and dashboard files live in ``charts/quoteflow/files/`` so that the Helm
chart ships exactly what the tests check; ``paths`` locates them from a checkout.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART_FILES = REPO_ROOT / "charts" / "quoteflow" / "files"
RULES_DIR = CHART_FILES / "rules"
DASHBOARDS_DIR = CHART_FILES / "dashboards"
