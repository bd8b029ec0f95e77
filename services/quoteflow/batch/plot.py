"""The picture a scoring run's reviewer looks at first: the distribution of the
product's headline column (motor: the premium; claims: the fraud probability) and,
with --compare, its change against another version.

Histograms are accumulated chunk by chunk on fixed bins, so a book larger than
memory plots in constant memory; only the counts reach matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from quoteflow.products.base import Product

if TYPE_CHECKING:  # matplotlib is imported when a plot is drawn (the batch extra)
    from matplotlib.axes import Axes

# Log-spaced premium bins (currency units); values outside land in the end bins.
PREMIUM_EDGES = np.logspace(0, 9, 181)
# Change as new/old ratio on log2 bins, from a quarter to four times the old price.
RATIO_EDGES = np.exp2(np.linspace(-2, 2, 161))


def default_plot_path(output: Path) -> Path:
    return output.with_name(output.stem + ".premiums.png")


def headline_edges(product: Product) -> np.ndarray:
    """The product's headline bins (``Product.headline_bins``)."""
    low, high, bins, log = product.headline_bins
    return (np.logspace(np.log10(low), np.log10(high), bins + 1) if log
            else np.linspace(low, high, bins + 1))


@dataclass
class PremiumStats:
    """Fixed-bin counts of the headline column (the premium, for motor)."""

    compare_version: str | None = None
    edges: np.ndarray = field(default_factory=lambda: PREMIUM_EDGES)
    premium: np.ndarray = field(default_factory=lambda: np.zeros(0))
    compare: np.ndarray = field(default_factory=lambda: np.zeros(0))
    ratio: np.ndarray = field(default_factory=lambda: np.zeros(len(RATIO_EDGES) - 1))
    total: float = 0.0
    compare_total: float = 0.0
    rows: int = 0
    up: int = 0
    down: int = 0

    def __post_init__(self) -> None:
        self.premium = np.zeros(len(self.edges) - 1)
        self.compare = np.zeros(len(self.edges) - 1)

    @property
    def log_x(self) -> bool:
        return bool(self.edges[0] > 0 and self.edges[2] - self.edges[1]
                    > 1.0001 * (self.edges[1] - self.edges[0]))

    def add(self, premium: np.ndarray, compare: np.ndarray | None = None) -> None:
        self.premium += _hist(premium, self.edges)
        self.total += float(premium.sum())
        self.rows += len(premium)
        if compare is not None:
            self.compare += _hist(compare, self.edges)
            self.compare_total += float(compare.sum())
            with np.errstate(divide="ignore", invalid="ignore"):  # a probability can be 0
                ratio = premium / compare
            self.ratio += _hist(ratio, RATIO_EDGES)
            self.up += int(np.count_nonzero(ratio > 1))
            self.down += int(np.count_nonzero(ratio < 1))


def _hist(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    clipped = np.clip(values, edges[0], np.nextafter(edges[-1], 0))
    return np.histogram(clipped, bins=edges)[0].astype(float)


def render(stats: PremiumStats, path: Path, title: str, label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only, no display: works on a server or in CI
    import matplotlib.pyplot as plt

    panels = 2 if stats.compare_version is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 4.2), squeeze=False)
    ax = axes[0][0]
    edges = stats.edges
    mean = ",.0f" if stats.log_x else ".3g"  # currency units, or a probability
    ax.bar(edges[:-1], stats.premium, width=np.diff(edges), align="edge", alpha=0.7,
           label=f"{title} (mean {stats.total / max(stats.rows, 1):{mean}})")
    if stats.compare_version is not None:
        ax.step(edges[:-1], stats.compare, where="post", color="black",
                label=f"version {stats.compare_version} "
                      f"(mean {stats.compare_total / max(stats.rows, 1):{mean}})")
    if stats.log_x:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("rows")
    ax.set_title(f"Distribution of {label}, {stats.rows:,} rows")
    ax.legend(fontsize=8)
    _trim_x(ax, stats.premium + stats.compare, edges)
    if stats.compare_version is not None:
        ax = axes[0][1]
        ax.bar(RATIO_EDGES[:-1], stats.ratio, width=np.diff(RATIO_EDGES), align="edge",
               color="tab:orange")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(f"new / version {stats.compare_version} {label} (log2; ends clipped)")
        ax.set_title(f"Change: {stats.up:,} up, {stats.down:,} down, "
                     f"{stats.rows - stats.up - stats.down:,} unchanged")
        _trim_x(ax, stats.ratio, RATIO_EDGES)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _trim_x(ax: Axes, counts: np.ndarray, edges: np.ndarray) -> None:
    nz = np.flatnonzero(counts)
    if len(nz):
        ax.set_xlim(edges[nz[0]], edges[nz[-1] + 1])
