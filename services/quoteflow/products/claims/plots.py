"""The report's PNGs: confusion matrix and calibration (reliability) curves."""

from __future__ import annotations

import numpy as np

from quoteflow.products.claims.features import CLASSES
from quoteflow.report_format import png_bytes


def confusion(matrix: list[list[int]], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(m, cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{v:,}", ha="center", va="center",
                color="white" if v > m.max() / 2 else "black")
    ax.set_xticks(range(len(CLASSES)), CLASSES)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("decision")
    ax.set_ylabel("true class")
    ax.set_title(title)
    fig.tight_layout()
    return png_bytes(fig, dpi=100)


def calibration(p: np.ndarray, y: np.ndarray, title: str, bins: int = 10) -> bytes:
    """Mean predicted vs observed frequency per class, in equal-count bins."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--", label="perfect")
    for k, cls in enumerate(CLASSES):
        order = np.argsort(p[:, k], kind="stable")
        parts = np.array_split(order, bins)
        ax.plot([p[i, k].mean() for i in parts], [np.mean(y[i] == k) for i in parts],
                marker="o", ms=3, label=cls)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    return png_bytes(fig, dpi=100)
