"""Feature drift: population stability index (PSI) of live raw features against the
training reference histograms stored in the model artifact.

The hot path (``observe``) only bins the incoming rows and updates per-feature bin
counts over a sliding window held as a ring buffer of bin indices: O(rows) work,
no allocation proportional to the window, no PSI arithmetic. ``psi()`` is what a
scrape (or a periodic task) pays for, and it costs O(bins).

PSI = sum over bins of (live% - ref%) * ln(live% / ref%); by the usual rule of thumb
under 0.1 is stable, 0.1-0.2 is a moderate shift and over 0.2 a significant one (the
alert threshold in charts/quoteflow/files/rules/quoteflow.rules.yaml).
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from quoteflow import metrics

# Floor for a bin's share, so that an empty bin (live or reference) costs a large
# but finite PSI term instead of an infinite one.
EPSILON = 1e-4
# Below this many rows the batch is binned in plain Python: numpy's per-call
# overhead (~1-2 us per function) dominates for the live path's one-row batches.
_SMALL_BATCH = 8


class DriftMonitor:
    """PSI per raw feature over the last ``window`` observed rows.

    ``reference_histograms`` is the artifact metadata's
    ``{feature: {"edges": [...], "counts": [...]}}`` for every name in ``features``
    (the product's raw features, the feature vector's leading columns); bins are
    ``[edges[i], edges[i+1])`` (numpy.histogram's convention) and values outside the
    edges count in the first or last bin, so a live population that leaves the
    training range shows up as drift in the end bins.
    """

    def __init__(self, reference_histograms: Mapping[str, Mapping[str, Sequence[float]]],
                 features: Sequence[str], window: int = 5000) -> None:
        if window < 1:
            raise ValueError("window must be at least 1 row")
        missing = [f for f in features if f not in reference_histograms]
        if missing:
            raise ValueError(f"reference histograms lack features {missing}")
        self.features: tuple[str, ...] = tuple(features)
        self.window = window
        self._edges: list[np.ndarray] = []
        self._inner_edges: list[list[float]] = []  # edges[1:-1], for bisect
        self._inner_arrays: list[np.ndarray] = []  # the same, for searchsorted
        ref_shares: list[np.ndarray] = []
        for f in self.features:
            h = reference_histograms[f]
            edges = np.asarray(h["edges"], dtype=np.float64)
            counts = np.asarray(h["counts"], dtype=np.float64)
            if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
                raise ValueError(f"{f}: edges must be strictly increasing, at least two")
            if counts.shape != (len(edges) - 1,) or np.any(counts < 0) or counts.sum() <= 0:
                raise ValueError(f"{f}: counts must be len(edges) - 1 non-negative numbers "
                                 "with a positive total")
            self._edges.append(edges)
            self._inner_edges.append([float(e) for e in edges[1:-1]])
            self._inner_arrays.append(edges[1:-1].copy())
            ref_shares.append(np.maximum(counts / counts.sum(), EPSILON))
        self._ref = ref_shares
        self._nbins = [len(e) - 1 for e in self._edges]
        # bin indices of the last `window` rows; int16 is plenty (bins << 32767)
        self._ring = np.zeros((window, len(self.features)), dtype=np.int16)
        self._counts = [np.zeros(n, dtype=np.int64) for n in self._nbins]
        self._pos = 0  # next slot to write
        self._filled = 0
        self._lock = threading.Lock()  # psi() may run on a scrape thread

    @property
    def rows(self) -> int:
        """Rows currently in the window."""
        return self._filled

    def _bin_indices(self, raw: np.ndarray) -> np.ndarray:
        idx = np.empty(raw.shape, dtype=np.int16)
        for j, inner in enumerate(self._inner_arrays):
            # searchsorted on the inner edges clips out-of-range values to the end bins
            idx[:, j] = np.searchsorted(inner, raw[:, j], side="right")
        return idx

    def observe(self, raw: np.ndarray | Sequence[Sequence[float]]) -> None:
        """Add rows of shape (n, len(features)) in ``features`` order (RAW_FEATURES)."""
        x = np.asarray(raw, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        n, k = x.shape
        if k != len(self.features):
            raise ValueError(f"expected {len(self.features)} columns, got {k}")
        if n == 0:
            return
        if n <= _SMALL_BATCH:
            self._observe_small(x)
            return
        if n > self.window:  # only the newest `window` rows can stay in the window
            x = x[-self.window:]
            n = self.window
        idx = self._bin_indices(x)
        with self._lock:
            slots = (self._pos + np.arange(n)) % self.window
            if self._filled == self.window:  # full: the rows in these slots leave
                old = self._ring[slots]
                for j, nb in enumerate(self._nbins):
                    self._counts[j] -= np.bincount(old[:, j], minlength=nb)
            elif self._filled + n > self.window:
                # partly full: only the slots already written hold rows that leave
                spill = self._filled + n - self.window
                old = self._ring[slots[n - spill:]]
                for j, nb in enumerate(self._nbins):
                    self._counts[j] -= np.bincount(old[:, j], minlength=nb)
            self._ring[slots] = idx
            for j, nb in enumerate(self._nbins):
                self._counts[j] += np.bincount(idx[:, j], minlength=nb)
            self._pos = int((self._pos + n) % self.window)
            self._filled = min(self.window, self._filled + n)

    def _observe_small(self, x: np.ndarray) -> None:
        rows = x.tolist()
        with self._lock:
            ring, counts, full = self._ring, self._counts, self._filled == self.window
            for row in rows:
                slot = self._pos
                if full:
                    old = ring[slot].tolist()
                    for j, b in enumerate(old):
                        counts[j][b] -= 1
                for j, inner in enumerate(self._inner_edges):
                    b = bisect_right(inner, row[j])
                    ring[slot, j] = b
                    counts[j][b] += 1
                self._pos = (slot + 1) % self.window
                if not full:
                    self._filled += 1
                    full = self._filled == self.window

    def histograms(self) -> dict[str, list[int]]:
        """Live bin counts per feature over the window (for debugging and tests)."""
        with self._lock:
            return {f: c.tolist() for f, c in zip(self.features, self._counts, strict=True)}

    def psi(self) -> dict[str, float]:
        """PSI per feature over the window; NaN for every feature while it is empty."""
        with self._lock:
            counts = [c.copy() for c in self._counts]
            n = self._filled
        if n == 0:
            return {f: math.nan for f in self.features}
        out: dict[str, float] = {}
        for f, c, ref in zip(self.features, counts, self._ref, strict=True):
            live = np.maximum(c / n, EPSILON)
            out[f] = float(np.sum((live - ref) * np.log(live / ref)))
        return out


def publish_drift_metrics(monitor: DriftMonitor, feature_gauge: Any = None,
                          rows_gauge: Any = None) -> dict[str, float]:
    """Set ``quoteflow_feature_psi{feature}`` and ``quoteflow_drift_window_rows`` from
    ``monitor``; returns the PSI values. Call it periodically (e.g. every second from a
    background task) or before a scrape, not per request: psi() is O(bins) but not free.
    """
    feature_gauge = metrics.FEATURE_PSI if feature_gauge is None else feature_gauge
    rows_gauge = metrics.DRIFT_WINDOW_ROWS if rows_gauge is None else rows_gauge
    values = monitor.psi()
    for feature, value in values.items():
        feature_gauge.labels(feature).set(value)
    rows_gauge.set(monitor.rows)
    return values
