"""The quote path's renewal steps, for a product whose requests may renew a bound answer
(``Product.renewal_field``; motor's ``renews``):

- ``find_renewed`` (before pricing): the named quote must be in the ledger, this
  customer's, of this product, and bound; else the request is refused (422) naming the
  field and why. Its premium is the prior the guardrails hold the renewal to.
- ``hold`` (after pricing): the product turns the new-business prediction into the
  renewal by the artifact's rules (``Product.renew``), and every rule that moved a price
  is counted by color and rule (bounded by ``Product.guardrail_rules``).
"""

from __future__ import annotations

import orjson

from quoteflow import metrics
from quoteflow.ledger.outcomes import LedgerUnavailable
from quoteflow.ledger.record import Renewal
from quoteflow.products.base import Product
from quoteflow.router.ledgering import QuoteLedger
from quoteflow.router.quote import Outcome, Quote, Rejected, ledger_down


def refused(field: str, msg: str) -> Rejected:
    return Rejected(422, orjson.dumps({"detail": [
        {"loc": ["body", field], "msg": msg, "type": "renewal"}]}))


async def find_renewed(q: Quote, product: Product, ledger: QuoteLedger | None
                       ) -> Outcome | None:
    field = product.renewal_field
    renews = q.feats.get(field) if field else None
    if field is None or renews is None:
        return None
    if ledger is None:
        return refused(field, "renewals need the quote ledger, which this router runs without")
    try:
        rec = await ledger.get(str(renews))
    except LedgerUnavailable as e:
        return ledger_down(e)
    if rec is None or rec.product != product.name:
        return refused(field, f"no {product.name} quote {renews} is on record")
    if rec.customer_key is None or rec.customer_key != q.feats.get("sticky_key"):
        return refused(field, f"quote {renews} is not this customer's (customer_key "
                              f"must be the renewed quote's)")
    if rec.bound_at is None:
        return refused(field, f"quote {renews} was never bound: only a bound quote can "
                              f"be renewed")
    q.renewal = Renewal(quote_id=rec.quote_id, prior_premium=rec.premium)
    return None


def hold(q: Quote, product: Product) -> None:
    """Apply the renewal rules (if this is one) and count every rule that fired."""
    if q.renewal is not None:
        q.result["predictions"][0] = product.renew(q.prediction, q.renewal.prior_premium,
                                                   q.result)
    if product.guardrail_rules:
        for rule in product.rules_fired(q.prediction):
            if rule in product.guardrail_rules:
                metrics.child(metrics.GUARDRAIL_HITS, q.color, rule).inc()
