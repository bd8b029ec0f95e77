"""Generic loss models, used by products and by ``quoteflow simulate``.

Severity families (plain, left-truncated, spliced with a generalized Pareto tail, with
point masses at fixed amounts), their maximum-likelihood fits and the splice threshold
rule, parameter uncertainty (ABC and the likelihood posterior), CPI indexation and the
aggregate-loss simulation. Nothing here names a product.
"""
