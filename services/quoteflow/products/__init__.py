"""The products the platform serves, by name.

Adding a product is one line here (its package builds the ``Product``); nothing else
in the platform names a product.
"""

from __future__ import annotations

import importlib
from functools import cache

from quoteflow.products.base import Product

# name -> module holding PRODUCT; imported on first use, so a command that needs
# one product does not import the others.
REGISTERED: dict[str, str] = {
    "motor": "quoteflow.products.motor",
    "claims": "quoteflow.products.claims",
}


class UnknownProduct(LookupError, ValueError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown product {name!r}; known: {', '.join(sorted(REGISTERED))}")


@cache
def get(name: str) -> Product:
    if name not in REGISTERED:
        raise UnknownProduct(name)
    product = importlib.import_module(REGISTERED[name]).PRODUCT
    if not isinstance(product, Product):
        raise TypeError(f"{REGISTERED[name]}.PRODUCT is not a Product")  # the table is wrong
    return product


def names() -> list[str]:
    return list(REGISTERED)


def of_metadata(metadata: dict[str, object]) -> Product:
    """The product a model version belongs to; versions from before products were
    named in metadata are motor pricing's, whose name they carry as model name."""
    return get(str(metadata.get("product") or metadata.get("name") or "motor"))
