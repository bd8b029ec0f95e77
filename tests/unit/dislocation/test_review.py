"""The review's arithmetic on a book whose changes are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quoteflow.dislocation import report
from quoteflow.dislocation.review import review

# ten policies at 100; the new version moves them by these changes
CHANGES = np.array([-0.30, -0.12, -0.06, -0.01, 0.0, 0.02, 0.07, 0.11, 0.26, 0.5])


def priced() -> pd.DataFrame:
    return pd.DataFrame({"row_number": np.arange(1, 11), "policy_id": [f"P{i}" for i in
                                                                        range(10)],
                         "compare_premium": np.full(10, 100.0),
                         "premium": 100.0 * (1 + CHANGES)})


SEGMENTS = {"vehicle_power": np.array(["4", "10", "6", "4", "10", "6", "4", "10", "6", "4"])}


def test_shares_moving_by_more_than_each_threshold() -> None:
    r = review("motor", "1", "2", "book.csv", priced(), SEGMENTS, rejected=2)
    assert r.policies == 10 and r.rejected == 2
    assert r.shares["up_5"] == pytest.approx(0.4) and r.shares["down_5"] == pytest.approx(0.3)
    assert r.shares["up_10"] == pytest.approx(0.3) and r.shares["down_10"] == pytest.approx(0.2)
    assert r.shares["up_25"] == pytest.approx(0.2) and r.shares["down_25"] == pytest.approx(0.1)
    assert r.shares["over_10"] == pytest.approx(0.5)
    assert r.mean_to == pytest.approx(100 * (1 + CHANGES.mean()))
    # the largest movers first, with their segment
    assert [m["change"] for m in r.largest[:3]] == pytest.approx([0.5, -0.30, 0.26])
    assert r.largest[0]["policy_id"] == "P9" and r.largest[0]["vehicle_power"] == "4"


def test_segments_in_numeric_order_with_their_own_changes() -> None:
    r = review("motor", "1", "2", "book.csv", priced(), SEGMENTS, rejected=0)
    rows = r.by_segment["vehicle_power"]
    assert [x["level"] for x in rows] == ["4", "6", "10"]
    four = rows[0]
    m = SEGMENTS["vehicle_power"] == "4"
    assert four["policies"] == 4
    assert four["mean_change"] == pytest.approx(CHANGES[m].mean())
    assert sum(b["policies"] for b in r.by_band) == 10


def test_limits_are_judged_and_unknown_ones_refused() -> None:
    r = review("motor", "1", "2", "book.csv", priced(), SEGMENTS, 0,
               {"over_10": 0.6, "over_25": 0.35})
    assert r.within_limits
    r = review("motor", "1", "2", "book.csv", priced(), SEGMENTS, 0, {"over_10": 0.4})
    assert not r.within_limits and r.breaches == ["over_10: 50.0% of policies, limit 40.0%"]
    with pytest.raises(ValueError, match=r"dislocation limits \['over_15'\]: unknown"):
        review("motor", "1", "2", "book.csv", priced(), SEGMENTS, 0, {"over_15": 0.1})
    with pytest.raises(ValueError, match="no policy could be priced"):
        review("motor", "1", "2", "book.csv", priced().iloc[:0], {}, 0)


def test_report_and_plots() -> None:
    r = review("motor", "1", "2", "book.csv", priced(), SEGMENTS, 0, {"over_10": 0.4})
    pngs = report.plots(r, CHANGES)
    assert set(pngs) == {"change_histogram.png", "change_by_segment.png"}
    assert all(p[:4] == b"\x89PNG" for p in pngs.values())
    text = report.markdown(r, list(pngs))
    assert "BEYOND the product's limits: over_10: 50.0%" in text
    assert "## By vehicle_power" in text and "![change_histogram.png]" in text
