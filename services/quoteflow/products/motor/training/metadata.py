"""metadata.json of a motor model version: data, metrics, severity, pricing, model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quoteflow.actuarial import severity
from quoteflow.products.motor import explain, features, model_io
from quoteflow.products.motor.training import frequency, premiums
from quoteflow.training import artifact

if TYPE_CHECKING:
    from quoteflow.products.motor.training.pipeline import TrainedModel, TrainingResult


def build(tm: TrainedModel, result: TrainingResult, deviances: dict[str, float]
              ) -> dict[str, Any]:
    data = result.data
    meta: dict[str, Any] = {
        "product": "motor",
        "model_type": tm.model_type,
        "feature_schema_version": features.FEATURE_SCHEMA_VERSION,
        "feature_names": list(features.FEATURE_NAMES),
        "training_data_sha256": data.data_sha256,
        "training_data": {
            "sha256_definition": "sha256 of the policies, claims and CPI files' bytes "
                                 "(no CPI file: none), concatenated in that order",
            "files": {role: {"path": p.name, "sha256": data.file_sha256[p.name]}
                      for role, p in (("policies", data.sources.policies),
                                      ("claims", data.sources.claims),
                                      ("cpi", data.sources.cpi)) if p is not None},
            "policies_read": data.domain.rows_read,
            "policies_outside_domain": data.domain.dropped,
            "outside_domain_by_reason": data.domain.by_reason,
            "claims": len(data.claims),
            "indexing": {"base_year": data.indexing.base_year,
                         "policy": data.indexing.policy,
                         "substituted_years": {str(k): v for k, v in
                                               data.indexing.substituted.items()}},
        },
        "metrics": {**tm.metrics, "poisson_deviance_test_by_model": dict(deviances),
                    "severity": {f.slug: {"aic": f.aic, "loglik": f.loglik,
                                            "ks_statistic": f.ks_statistic,
                                            "ks_pvalue": f.ks_pvalue}
                                 for f in result.severity_fits}},
        "reference_histograms": artifact.reference_histograms(
            data.x[data.split.train], features.FEATURE_NAMES, features.reference_edges()),
        "pricing": data.pricing.as_metadata(),
        "severity": {**result.chosen.as_metadata(), "choice_rule": severity.CHOICE_RULE,
                     "premium_parts": premiums.severity_parts(result.chosen).as_metadata(),
                     "empirical_mean": float(data.claims["amount_indexed"].mean()),
                     "mean_check": result.mean_check.as_metadata(),
                     "currency": data.pricing.currency,
                     "price_year": data.pricing.base_year,
                     **({"uncertainty": result.posterior.as_metadata()}
                        if result.posterior is not None else {})},
        "quotes": {"validity_days": result.quote_validity_days},
        "library_versions": artifact.library_versions(),
        "seed": result.seed,
        "onnx": {"input": model_io.INPUT, "outputs": list(model_io.OUTPUTS)},
        "explanation": explain.as_metadata(),
    }
    if tm.model_type == "poisson_glm":
        meta["glm"] = {"intercept": float(tm.model.intercept_),
                       "coefficients": {n: float(c) for n, c in
                                        zip(features.FEATURE_NAMES, tm.model.coef_, strict=True)},
                       "link": "log", "offset": "log(Exposure)"}
    else:
        meta["gbm"] = {k: v for k, v in tm.model.get_params().items()
                       if k in (*frequency.GBM_PARAMS, "loss", "random_state")}
    return meta
