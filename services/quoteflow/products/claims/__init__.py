"""Claim triage: an agent's claim at first notice of loss -> valid, fraud or review.

- generator.py   seeded synthetic claims with their true class probabilities (the DGP)
- contract.py    the claim request, a triaged row, the public answer (pydantic)
- features.py    the one feature derivation (training, live preprocess, batch scoring)
- decision.py    the cost table (config.yaml) and the cost-minimising decision rule
- model_io.py    the ONNX contract and graph (classifier + decision rule)
- reasons.py     the facts that moved a decision, in words (explain.py builds its tables)
- batch.py       a file's rows judged as the live API judges them
- training.py    fit, choose the rule, evaluate against Bayes, export, register
                 (evaluate.py, plots.py, report.py, artifact.py)
- product.py     the Product the platform serves
"""

from quoteflow.products.claims.product import ClaimsProduct

PRODUCT = ClaimsProduct()
