"""Why this price: each rating factor's multiplicative effect on a quote's frequency.

Relative to a stated reference risk (``REFERENCE``: a 45-year-old driver, a 3-year-old
6 CV car of brand B12, bonus-malus 50, area C), the expected frequency is

    frequency = base_frequency x effect(factor 1) x ... x effect(factor 6)

with ``base_frequency`` the model's frequency for the reference risk and each effect
the ratio of the model's frequencies when that factor moves from the reference to the
quote's value, the factors before it in ``RATING_FACTORS`` already moved (sequential
attribution). For the Poisson GLM the order does not matter and each effect is the
exact relativity exp(beta . (x - x_ref)) of the factor's features; for the boosted
model the order is part of the method (interactions are credited to the factor moved
last). The product telescopes, so the effects multiply back to the frequency to
floating-point rounding, and the ONNX graph computes them (onnx_graph.py): the artifact
alone fixes the explanation as it fixes the price.
"""

from __future__ import annotations

import numpy as np

from quoteflow.products.motor import features

# (rating factor as the quote names it, the feature columns it moves), in the order of
# the sequential attribution: the French tariff's own order of importance
RATING_FACTORS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bonus_malus", ("bonus_malus",)),
    ("driver_age", ("driver_age", *(n for n, _, _ in features.DRIVER_AGE_BANDS))),
    ("vehicle_age", ("vehicle_age", *(n for n, _, _ in features.VEHICLE_AGE_BANDS))),
    ("vehicle_power", ("vehicle_power",)),
    ("area", ("area_code",)),
    ("vehicle_brand", tuple(f"brand_{b}" for b in features.BRANDS
                            if b != features.REFERENCE_BRAND)),
)
FACTOR_NAMES: tuple[str, ...] = tuple(name for name, _ in RATING_FACTORS)
REFERENCE: dict[str, int | str] = {
    "driver_age": 45, "vehicle_age": 3, "vehicle_power": 6, "bonus_malus": 50,
    "area": "C", "vehicle_brand": features.REFERENCE_BRAND}
METHOD = ("sequential attribution against the reference risk, in the order "
          + ", ".join(FACTOR_NAMES) + "; for a log-linear model (the Poisson GLM) each "
          "effect is the factor's exact relativity, whatever the order")


def reference_row() -> np.ndarray:
    """The reference risk's feature row, float32 (1, N_FEATURES)."""
    r = REFERENCE
    return features.design_matrix(np.array([r["driver_age"]]), np.array([r["vehicle_age"]]),
                                  np.array([r["vehicle_power"]]), np.array([r["bonus_malus"]]),
                                  [str(r["area"])], [str(r["vehicle_brand"])])


def moved_masks() -> np.ndarray:
    """Bool (len(RATING_FACTORS) + 1, N_FEATURES): row k marks the columns of the first k
    factors, which take the quote's values; the others keep the reference's."""
    index = {n: i for i, n in enumerate(features.FEATURE_NAMES)}
    covered = sorted(index[c] for _, cols in RATING_FACTORS for c in cols)
    assert covered == list(range(features.N_FEATURES)), "every feature belongs to a factor"
    masks = np.zeros((len(RATING_FACTORS) + 1, features.N_FEATURES), dtype=bool)
    for k, (_, cols) in enumerate(RATING_FACTORS, start=1):
        masks[k:, [index[c] for c in cols]] = True
    return masks


def as_metadata() -> dict[str, object]:
    return {"method": METHOD, "reference": REFERENCE, "factors": list(FACTOR_NAMES)}
