"""The training report (Markdown) stored beside each artifact, plots referenced relatively."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quoteflow.products.motor import features
from quoteflow.training import frequency, severity

if TYPE_CHECKING:
    from quoteflow.training.pipeline import TrainedModel, TrainingResult


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.6g}" for k, v in params.items())


def render(result: TrainingResult, tm: TrainedModel, onnx_sha256: str) -> str:
    d, cfg, chosen = result.data, result.data.pricing, result.chosen
    m = tm.metrics
    out: list[str] = [
        f"# Training report: {tm.model_type}",
        "",
        f"- Artifact: `model.onnx`, sha256 `{onnx_sha256}`",
        f"- Feature schema version {features.FEATURE_SCHEMA_VERSION}, "
        f"{features.N_FEATURES} features; seed {result.seed}",
        f"- Training data sha256 `{d.data_sha256}`",
        "",
        "## Data",
        "",
        _table(["role", "file", "sha256"],
               [[role, f"`{p}`", f"`{d.file_sha256[p.name][:16]}...`"]
                for role, p in zip(("policies", "claims", "CPI"), d.sources.data_files(),
                                   strict=True)]),
        "",
        f"Policies read: {d.domain.rows_read:,}; outside the rating domain and not used: "
        f"{d.domain.dropped:,}.",
    ]
    if d.domain.by_reason:
        out += ["", _table(["reason (field outside features.DOMAIN)", "rows"],
                           [[k, f"{v:,}"] for k, v in d.domain.by_reason.items()]),
                "", "A row may fail several fields, so the reasons can sum to more than "
                "the rows dropped."]
    ix = d.indexing
    out += [
        "",
        f"Claims: {len(d.claims):,}, amounts in {cfg.currency}, indexed to {ix.base_year} "
        f"prices with `{ix.source}` (missing-index policy: {ix.policy}). Factor by accident "
        "year: " + ", ".join(f"{y}: {f:.4f} ({ix.claims_by_year[y]})"
                             for y, f in ix.factor_by_year.items()) + ".",
    ]
    if ix.substituted:
        out.append("Years without an index, given the nearest year's: "
                   + ", ".join(f"{a} -> {b}" for a, b in ix.substituted.items()) + ".")
    amounts = d.claims["amount_indexed"].to_numpy()
    out += [
        "",
        "## Severity",
        "",
        f"Maximum likelihood fits, location fixed at 0. Choice rule: {severity.CHOICE_RULE}. "
        "The KS p-values use parameters fitted on the same claims, so they are optimistic. "
        "The fits ignore any reporting threshold (left truncation): the shipped Danish "
        "fire losses hold only losses of 1 million DKK and more, which the Q-Q plots show.",
        "",
        _table(["family", "parameters", "log-likelihood", "AIC", "KS statistic", "KS p-value",
                "mean", "chosen"],
               [[f.family, _params(f.params), f"{f.loglik:,.2f}", f"{f.aic:,.2f}",
                 f"{f.ks_statistic:.4f}", f"{f.ks_pvalue:.3g}", f"{f.mean:,.0f}",
                 "yes" if f is chosen else ""] for f in result.severity_fits]),
        "",
        f"Expected severity (mean of the chosen {chosen.family}): **{chosen.mean:,.2f} "
        f"{cfg.currency}**; empirical mean {amounts.mean():,.2f}, median "
        f"{np.median(amounts):,.2f}, max {amounts.max():,.2f}.",
        "",
        *[f"![Q-Q {name}]({name})" for name in result.plots],
        "",
        "## Frequency",
        "",
        f"Fitted on {m['split']['train_rows']:,} policies; out-of-sample on "
        f"{m['split']['test_rows']:,} (fixed split, seed {m['split']['seed']}). Deviance: "
        f"{m['deviance_definition']}.",
        "",
        _table(["model", "test deviance", "this artifact"],
               [[mt, f"{dev:.6f}", "yes" if mt == tm.model_type else ""]
                for mt, dev in tm.metadata["metrics"]["poisson_deviance_test_by_model"].items()]
               + [["constant (null)", f"{m['poisson_deviance_test_null']:.6f}", ""]]),
        "",
        f"This artifact's train deviance: {m['poisson_deviance_train']:.6f}.",
        "",
    ]
    if tm.model_type == "poisson_glm":
        glm = tm.metadata["glm"]
        out += ["GLM coefficients (log link, offset log(Exposure); reference levels: brand "
                f"{features.REFERENCE_BRAND}, driver age 41-50, vehicle age 1-5):", "",
                _table(["term", "coefficient", "relativity"],
                       [["intercept", f"{glm['intercept']:.6f}", f"{np.exp(glm['intercept']):.6f}"]]
                       + [[n, f"{c:.6f}", f"{np.exp(c):.4f}"]
                          for n, c in glm["coefficients"].items()]), ""]
    else:
        out += ["Gradient boosting (Poisson loss, sample weight Exposure): "
                + ", ".join(f"{k}={v}" for k, v in tm.metadata["gbm"].items()), ""]
    freq = frequency.predict(tm.model, d.x)
    premium = cfg.premium(freq, chosen.mean)
    qs = [1, 5, 25, 50, 75, 95, 99]
    parity = m["onnx_parity"]
    out += [
        "## Pricing",
        "",
        f"`{tm.metadata['pricing']['formula']}` with expense_loading {cfg.expense_loading}, "
        f"profit_loading {cfg.profit_loading}, minimum_premium {cfg.minimum_premium:,.2f} "
        f"{cfg.currency} (prices of {cfg.base_year}). The arithmetic is inside `model.onnx`.",
        "",
        _table(["on the training policies", *[f"p{q}" for q in qs]],
               [["frequency", *[f"{v:.4f}" for v in np.percentile(freq, qs)]],
                [f"premium ({cfg.currency})", *[f"{v:,.0f}" for v in np.percentile(premium, qs)]]]),
        "",
        f"Minimum premium applied to {np.mean(premium <= cfg.minimum_premium):.2%} of them.",
        "",
        f"ONNX parity with scikit-learn on {parity['rows']:,} rows: max relative difference "
        f"frequency {parity['max_relative_difference']['frequency']:.2e}, premium "
        f"{parity['max_relative_difference']['premium']:.2e} "
        f"(tolerance {parity['tolerance']:.0e}).",
        "",
        "## Library versions",
        "",
        ", ".join(f"{k} {v}" for k, v in tm.metadata["library_versions"].items()),
        "",
    ]
    return "\n".join(out)
