"""A chunk of request rows, judged: the priceable rows and the rejected ones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Judged:
    """A chunk split into priceable rows (as the product's columns) and rejected rows."""

    ok: np.ndarray  # row indices within the chunk, ascending
    columns: Any  # the product's column batch of the ok rows, in that order
    rejected: list[tuple[int, dict[str, Any], list[dict[str, Any]]]]  # (row, body, errors)
