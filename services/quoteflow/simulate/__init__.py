"""``quoteflow simulate``: a book's aggregate annual loss by Monte Carlo from a registered model."""
