"""Claims through the platform's own model loader (inference's OnnxModel)."""

from __future__ import annotations

import datetime as dt

from quoteflow.inference.model import OnnxModel
from quoteflow.products.claims import PRODUCT, generator
from quoteflow.products.claims.contract import ClaimRequest
from quoteflow.registry import ModelVersion, Registry


def _live(mv: ModelVersion, bodies: list[dict], today: dt.date) -> list[dict]:
    model = OnnxModel(Registry(mv.path.parents[1]), mv.name, mv.version)
    model.load()
    assert model.ready, model.failure
    cols = PRODUCT.columns([ClaimRequest.model_validate(b) for b in bodies], today)
    x = PRODUCT.features(cols)
    return model.predictions(model.run(x), x)


def test_inference_loads_claims_models_and_answers_triage(
        claims_versions: list[ModelVersion]) -> None:
    bodies = generator.generate(50, seed=8).requests(range(50))
    for mv in claims_versions:
        rows = _live(mv, bodies, dt.date(2026, 11, 30))
        assert {r["decision"] for r in rows} <= {"valid", "fraud", "review"}
        assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in rows)


def test_inference_answers_what_the_product_shapes(claims_versions: list[ModelVersion]) -> None:
    from quoteflow.products.claims import model_io

    bodies = generator.generate(20, seed=4).requests(range(20))
    today = dt.date(2026, 11, 30)
    mv = claims_versions[1]
    cols = PRODUCT.columns([ClaimRequest.model_validate(b) for b in bodies], today)
    x = PRODUCT.features(cols)
    assert _live(mv, bodies, today) == PRODUCT.shape(model_io.run(mv.read_verified(), x), x,
                                                     mv.metadata)
