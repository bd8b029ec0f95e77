"""What every product's training shares: `quoteflow train` (dispatch through
``products.get``), MLflow tracking and artifact helpers. Each product's own training
lives in its package (``products/<name>/training``)."""
