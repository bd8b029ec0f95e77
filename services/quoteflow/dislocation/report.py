"""A review as the actuary reads it: markdown with tables, and PNG plots beside it."""

from __future__ import annotations

from typing import Any

import numpy as np

from quoteflow.dislocation.review import THRESHOLDS, Review
from quoteflow.report_format import markdown_table, png_bytes


def _group_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["level"], f"{r['policies']:,}", f"{r['mean_from']:,.2f}", f"{r['mean_to']:,.2f}",
             f"{r['mean_change']:+.1%}", f"{r['up_10']:.1%}", f"{r['down_10']:.1%}"]
            for r in rows]


GROUP_HEAD = ["policies", "mean from", "mean to", "change", "up > 10%", "down > 10%"]


def markdown(r: Review, plots: list[str]) -> str:
    verdict = ("within the product's limits" if r.within_limits else
               "BEYOND the product's limits: " + "; ".join(r.breaches))
    out = [
        f"# Dislocation review: {r.model} {r.from_version} -> {r.to_version}",
        "",
        f"Book `{r.book}`: {r.policies:,} policies priced on both versions, {r.rejected:,} "
        f"refused as the live API would. Mean premium {r.mean_from:,.2f} -> {r.mean_to:,.2f} "
        f"({r.mean_to / r.mean_from - 1:+.2%}). Verdict: **{verdict}**.",
        "",
        markdown_table(["moves by more than", "up", "down", "either way", "limit"],
               [[f"{round(t * 100)}%", f"{r.shares[f'up_{round(t * 100)}']:.1%}",
                 f"{r.shares[f'down_{round(t * 100)}']:.1%}",
                 f"{r.shares[f'over_{round(t * 100)}']:.1%}",
                 ", ".join(f"{k} {v:.1%}" for k, v in r.limits.items()
                           if k.endswith(f"_{round(t * 100)}")) or "-"]
                for t in THRESHOLDS]),
        "",
        "Change per policy (new / current - 1), percentiles: "
        + ", ".join(f"{k} {v:+.1%}" for k, v in r.change_quantiles.items()) + ".",
        "",
        "## By premium band (current premium, quintiles)",
        "",
        markdown_table(["band", *GROUP_HEAD], _group_rows(r.by_band)),
        "",
    ]
    for name, rows in r.by_segment.items():
        out += [f"## By {name}", "", markdown_table([name, *GROUP_HEAD], _group_rows(rows)), ""]
    seg = list(r.by_segment)
    out += ["## Largest movers", "",
            markdown_table(["row", "policy", "from", "to", "change", *seg],
                   [[str(m["row_number"]), m["policy_id"] or "-", f"{m['from']:,.2f}",
                     f"{m['to']:,.2f}", f"{m['change']:+.1%}", *(m[s] for s in seg)]
                    for m in r.largest]), ""]
    out += [f"![{p}]({p})" for p in plots]
    return "\n".join(out) + "\n"


def plots(r: Review, change: np.ndarray) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.hist(np.clip(change * 100, -50, 50), bins=50, color="C0")
    for t in THRESHOLDS:
        for sign in (-1, 1):
            ax.axvline(sign * t * 100, color="C3", lw=0.8, ls="--")
    ax.set_xlabel("premium change per policy, % (clipped at +-50)")
    ax.set_ylabel("policies")
    ax.set_title(f"{r.model} {r.from_version} -> {r.to_version}: change per policy",
                 fontsize=10)
    fig.tight_layout()
    out = {"change_histogram.png": png_bytes(fig)}
    fig, axes = plt.subplots(1, 1 + len(r.by_segment), dpi=100, sharey=True,
                             figsize=(3 * (1 + len(r.by_segment)), 3.5), squeeze=False)
    for ax, (name, rows) in zip(axes[0], [("premium band", r.by_band),
                                          *r.by_segment.items()], strict=True):
        ax.bar(range(len(rows)), [x["mean_change"] * 100 for x in rows], color="C0")
        ax.set_xticks(range(len(rows)), [x["level"] for x in rows], rotation=60, fontsize=7)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(name, fontsize=9)
    axes[0][0].set_ylabel("mean change, %")
    fig.tight_layout()
    out["change_by_segment.png"] = png_bytes(fig)
    return out
