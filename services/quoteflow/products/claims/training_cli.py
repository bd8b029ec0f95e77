"""Claims' part of `quoteflow train`: ``--labels``, the desk's reviewed claims
(`quoteflow desk export-decisions`), trained on beside the generated claims."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

OPTIONS: list[Callable[[Any], Any]] = [
    click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="[claims] reviewed claims, JSON lines from `quoteflow desk "
                      "export-decisions`: trained on with the configured weight; some are "
                      "held out to compare the new versions with the current one"),
    click.option("--reviewed-weight", type=click.FloatRange(min=0, min_open=True),
                 help="[claims] how many generated claims one reviewed claim weighs in the "
                      "fit [default: the product config's reviewed_weight, 5]"),
]
NAMES = ("labels", "reviewed_weight")


def run(common: dict[str, Any], progress: Callable[[str], None], *,
        labels: Path | None, reviewed_weight: float | None = None) -> list[Any]:
    from quoteflow.products.claims import training
    from quoteflow.products.claims.labels import LabelError
    from quoteflow.registry import RegistryError

    if reviewed_weight is not None and labels is None:
        raise click.UsageError("--reviewed-weight weighs the reviewed claims of --labels: "
                               "give --labels too")
    try:
        return training.train_and_register(
            common["registry_dir"], seed=common["seed"],
            name=common["name"] or training.DEFAULT_NAME, to_staging=common["to_staging"],
            actor=common["actor"], progress=progress, labels=labels,
            reviewed_weight=reviewed_weight)
    except (LabelError, RegistryError, training.ParityError, ValueError) as e:
        raise click.ClickException(str(e)) from e


def summary(versions: list[Any]) -> list[str]:
    """Each version, and with --labels the label set and the held-out comparison."""
    from quoteflow.products.claims.reviewed import summary_line

    lines = []
    labels = versions[0].metadata.get("labels") if versions else None
    if labels:
        lines.append(f"reviewed claims: {labels['count']} from {labels['source']} "
                     f"(decided {labels['first_decided_at'][:10]} to "
                     f"{labels['last_decided_at'][:10]}, sha256 {labels['sha256'][:12]}), "
                     f"{labels['trained_on']} trained on with weight {labels['weight']:g}, "
                     f"{labels['held_out']} held out")
    for mv in versions:
        test = mv.metadata["metrics"]["test"]
        cur = mv.metadata["decision_rule"]["currency"]
        lines.append(f"registered {mv.name}:{mv.version} {mv.metadata['model_type']:<24} "
                     f"test cost/claim {test['expected_cost']:.2f} {cur}, fraud recall "
                     f"{test['fraud_recall']:.3f}")
        extra = summary_line(mv.metadata, cur)
        if extra:
            lines.append(extra)
    return lines
