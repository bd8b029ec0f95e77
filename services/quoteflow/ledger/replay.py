"""Replay a recorded quote: derive its features again from the request as received,
with the product's one derivation, and price the recorded vector again with the
recorded model version from the registry (its sha256 checked).

Identical means: same features bit for bit, same model bytes, same exact premium.
Needs onnxruntime (the inference extra) besides the ledger's own dependencies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from quoteflow import products
from quoteflow.inference.model import OnnxModel
from quoteflow.ledger.record import QuoteRecord
from quoteflow.registry import Registry


@dataclass(frozen=True)
class Replayed:
    quote_id: str
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


class Replayer:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._models: dict[tuple[str, str], OnnxModel] = {}

    def _model(self, name: str, version: str) -> OnnxModel:
        key = (name, version)
        if key not in self._models:
            model = OnnxModel(self.registry, name, version)
            model.load()  # verifies the ONNX bytes against the registry's sha256
            self._models[key] = model
        return self._models[key]

    def replay(self, rec: QuoteRecord) -> Replayed:
        product = products.get(rec.product)
        diffs: list[str] = []
        request = product.request_model.model_validate_json(rec.request_json)
        # the day preprocess resolved "today" to: the quote's own (UTC) date
        today = rec.quoted_at.date()
        cols = product.columns([request], today)
        if problems := product.errors(cols, today):
            diffs.append("the request is now refused: "
                         + "; ".join(f"{p.field}: {p.message}" for p in problems))
            return Replayed(rec.quote_id, diffs)
        if rec.reason.tariff is not None:
            # the tariff was chosen by the cover start: the request must still give it
            start = product.context(request, today).get("cover_start")
            if start is not None and not rec.reason.tariff["cover_start"].startswith(start):
                diffs.append(f"cover start {start}, recorded {rec.reason.tariff['cover_start']}"
                             " (the tariff was chosen by it)")
        derived = product.features(cols)[0].tolist()
        if derived != rec.features:
            diffs.append(_feature_difference(rec.features, derived))
        model = self._model(rec.model_name, rec.model_version)
        if not model.ready:
            diffs.append(f"model {rec.model_name} v{rec.model_version} cannot be loaded: "
                         f"{model.failure}")
            return Replayed(rec.quote_id, diffs)
        if model.sha256 != rec.model_sha256:
            diffs.append(f"model sha256 {model.sha256} is not the recorded {rec.model_sha256}")
        x = np.asarray([rec.features], dtype=np.float32)
        prediction = product.shape(model.run(x), x, model.metadata)[0]
        extras = product.answer_extras(model.metadata)
        if rec.reason.renewal is not None:  # held to the renewed premium, as it was
            prediction = product.renew(prediction, rec.reason.renewal.prior_premium, extras)
        quoted = product.quoted(prediction, extras)
        if quoted is None:
            diffs.append(f"product {rec.product} does not price: nothing to replay")
        elif (quoted.premium, quoted.currency) != (rec.premium, rec.currency):
            diffs.append(f"premium {quoted.premium} {quoted.currency}, recorded "
                         f"{rec.premium} {rec.currency}")
        return Replayed(rec.quote_id, diffs)


def _feature_difference(recorded: list[float], derived: list[float]) -> str:
    if len(recorded) != len(derived):
        return f"{len(derived)} features derived, {len(recorded)} recorded"
    at = [i for i, (a, b) in enumerate(zip(recorded, derived, strict=True)) if a != b][:5]
    return "features differ: " + ", ".join(
        f"[{i}] recorded {recorded[i]!r}, derived {derived[i]!r}" for i in at)
