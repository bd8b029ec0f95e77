"""PNG of the simulated distribution (aggregate annual loss, or single claims)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from quoteflow.actuarial.aggregate import RiskSummary


def write_png(values: np.ndarray, path: Path, title: str, xlabel: str,
              summary: RiskSummary | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    v = np.asarray(values, dtype=np.float64)
    log = v.min() > 0 and np.quantile(v, 0.999) / max(np.median(v), 1e-300) > 50
    bins = np.geomspace(v.min(), v.max(), 80).tolist() if log else 80
    ax.hist(v, bins=bins, color="C0", alpha=0.8)
    if log:
        ax.set_xscale("log")
    if summary is not None:
        ax.axvline(summary.mean, color="k", lw=1, label=f"mean {summary.mean:,.0f}")
        for (q, var), c in zip(summary.var.items(), ("C1", "C3"), strict=True):
            ax.axvline(var, color=c, lw=1, ls="--", label=f"VaR {q:.1%} {var:,.0f}")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", metadata={"Software": None})
    plt.close(fig)
    return path
