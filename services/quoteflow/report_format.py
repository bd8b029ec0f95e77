"""What every report shares: markdown tables and reproducible PNG bytes of a figure."""

from __future__ import annotations

import io
from typing import Any


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def png_bytes(fig: Any, dpi: float | str = "figure") -> bytes:
    """The figure as PNG, closed; no timestamp or version in the file: the same figure
    gives the same bytes (artifacts are byte-reproducible)."""
    from matplotlib import pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
