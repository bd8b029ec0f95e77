"""`quoteflow traffic` and `quoteflow rollout` use the traffic package, never the router."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services" / "quoteflow"


def modules_imported(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_control_and_traffic_import_nothing_of_the_router() -> None:
    offenders = [f"{path.relative_to(SERVICES)}: {m}"
                 for package in ("control", "traffic")
                 for path in sorted((SERVICES / package).rglob("*.py"))
                 for m in modules_imported(path)
                 if m == "quoteflow.router" or m.startswith("quoteflow.router.")]
    assert not offenders, offenders
