"""The router's side of the quote ledger: key a request, honour a re-quote, build the
record of a priced answer, and answer from a record.

No HTTP here (app.py and quotes_api.py map the outcomes). The public answer of a
priced quote is built from its record, fresh or re-quoted alike, so what the caller
reads is exactly what the ledger holds; the premium goes out as the record's exact
decimal text (orjson.Fragment), with the currency unit's decimals.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from quoteflow import tracing
from quoteflow.ledger.outcomes import BindOutcome
from quoteflow.ledger.record import (
    SHA256,
    QuoteRecord,
    Reason,
    canonical_json,
    json_default,
    json_native,
    request_key,
    sha256_hex,
    utc,
)
from quoteflow.ledger.store import LedgerStore
from quoteflow.products.base import Product

# what preprocess answers besides the request facts it resolved (context)
_NOT_CONTEXT = frozenset({"schema_version", "features", "sticky_key"})


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# slots, not frozen: a frozen dataclass sets each field through object.__setattr__, and
# these two are made on every quote's path
@dataclass(slots=True)
class RequestKey:
    """A request as the ledger keys it: as received, and with its defaults resolved."""

    request_json: str
    request_sha256: str
    customer_key: str | None
    request_key: str


@dataclass(slots=True)
class Pricing:
    """How an answer was priced: the inputs of its record besides the request."""

    quote_id: str
    features: list[float]
    schema_version: str
    model: dict[str, Any]  # inference's model block: name, version, sha256
    color: str
    reason: Reason


class QuoteLedger:
    def __init__(self, store: LedgerStore, product: Product, instance: str,
                 clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.store = store
        self.product = product
        self.instance = instance
        self.clock = clock

    def key(self, body: bytes, feats: dict[str, Any]) -> RequestKey:
        """``body`` was accepted by preprocess, so it is a JSON object of the contract."""
        request = orjson.loads(body)
        text = canonical_json(request)
        # a request without a quote date means "today": resolved, it keys that day's quote
        resolved = {**request, **{k: v for k, v in feats.items()
                                  if k not in _NOT_CONTEXT and v is not None}}
        customer = feats.get("sticky_key")
        return RequestKey(text, sha256_hex(text), customer,
                          request_key(self.product.name, resolved))

    async def requote(self, key: RequestKey) -> QuoteRecord | None:
        """The quote to answer again, if this customer asked the same inside its validity;
        LedgerUnavailable if the store cannot say."""
        if key.customer_key is None:
            return None
        return await self.store.find_requote(key.customer_key, key.request_key, self.clock())

    def record_of(self, key: RequestKey, pricing: Pricing, prediction: dict[str, Any],
                  answer: dict[str, Any]) -> QuoteRecord | None:
        """The row for a priced answer; None when the product's answers are not prices.
        ValueError naming the field when what the model or preprocess gave is not a row."""
        quoted = self.product.quoted(prediction, answer)
        if quoted is None:
            return None
        now = utc(self.clock())
        # Built without QuoteRecord's validation (30 us of every quote's CPU, issue 29):
        # the keys were made by key() from canonical_json in this process (validating them
        # parsed, encoded and hashed the request again); what came from outside is checked.
        fields: dict[str, Any] = dict(
            quote_id=pricing.quote_id, product=self.product.name, quoted_at=now,
            valid_until=now + dt.timedelta(days=quoted.validity_days),
            request_json=key.request_json, request_sha256=key.request_sha256,
            customer_key=key.customer_key, request_key=key.request_key,
            features=finite_floats(pricing.features),
            features_schema=str(pricing.schema_version),
            model_name=str(pricing.model["name"]), model_version=str(pricing.model["version"]),
            model_sha256=str(pricing.model["sha256"]), color=pricing.color,
            reason=pricing.reason, premium=quoted.premium, currency=quoted.currency,
            breakdown=json_native(quoted.breakdown), router_instance=self.instance,
            trace_id=tracing.trace_id())  # the request id: to the trace and the logs
        check_outside(fields)
        return QuoteRecord.model_construct(**fields)

    async def commit(self, record: QuoteRecord, timeout: float) -> None:
        """Return once durable; LedgerUnavailable if not inside ``timeout`` seconds."""
        await self.store.record(record, timeout)

    async def get(self, quote_id: str) -> QuoteRecord | None:
        return await self.store.get(quote_id)

    async def bind(self, quote_id: str) -> BindOutcome:
        return await self.store.bind(quote_id, self.clock())


def finite_floats(values: list[float]) -> list[float]:
    """The feature vector as the row keeps it: floats, none NaN or infinite."""
    out = [float(v) for v in values]
    if not all(map(math.isfinite, out)):
        raise ValueError(f"features: not all finite ({out})")
    return out


_SHA256 = re.compile(SHA256)
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check_outside(f: dict[str, Any]) -> None:
    """QuoteRecord's constraints on what inference and preprocess gave (a bad row is a
    ValueError naming the field, never a row the store then refuses or misreads)."""
    bad = [name for name, ok in (
        ("model_sha256", _SHA256.match(f["model_sha256"])),
        ("currency", _CURRENCY.match(f["currency"])),
        ("premium", f["premium"].is_finite()),
        ("valid_until", f["valid_until"] >= f["quoted_at"]),
        ("model_name", f["model_name"]), ("model_version", f["model_version"]),
        ("features_schema", f["features_schema"]),
        ("customer_key", f["customer_key"] is None or len(f["customer_key"]) <= 256),
    ) if not ok]
    if bad:
        raise ValueError("not a ledger row: " + ", ".join(f"{b}={f[b]!r}" for b in bad))


def public_answer(rec: QuoteRecord, id_field: str) -> dict[str, Any]:
    """What POST answers for a recorded quote (fresh or re-quoted): the record's figures."""
    return {id_field: rec.quote_id, "premium": orjson.Fragment(str(rec.premium)),
            "currency": rec.currency, "breakdown": rec.breakdown,
            "model": {"name": rec.model_name, "version": rec.model_version, "color": rec.color},
            "quoted_at": timestamp(rec.quoted_at), "valid_until": timestamp(rec.valid_until)}


def timestamp(t: dt.datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")  # as the record's JSON writes UTC


def recorded_quote(rec: QuoteRecord, now: dt.datetime) -> dict[str, Any]:
    """GET /v1/quotes/{id}: the whole record (request, features, model, why) and status."""
    doc: dict[str, Any] = orjson.loads(orjson.dumps(rec.model_dump(mode="json"),
                                                    default=json_default))
    doc["premium"] = orjson.Fragment(str(rec.premium))
    doc["request"] = rec.request()
    del doc["request_json"]
    doc["status"] = rec.status(now)
    return doc
