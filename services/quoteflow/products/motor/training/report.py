"""The training report (Markdown) stored beside each artifact, plots referenced relatively."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quoteflow.actuarial import severity, splice, uncertainty
from quoteflow.products.motor import features
from quoteflow.products.motor.training import frequency, premiums, report_tables
from quoteflow.products.motor.training.report_tables import money as _money
from quoteflow.report_format import markdown_table as _table

if TYPE_CHECKING:
    from quoteflow.products.motor.training.pipeline import TrainedModel, TrainingResult


def _params(params: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.6g}" for k, v in params.items())


def _severity_section(result: TrainingResult) -> list[str]:
    d, chosen = result.data, result.chosen
    cur = d.pricing.currency
    amounts = d.claims["amount_indexed"].to_numpy()
    t = result.severity_settings.threshold if result.severity_settings else 0.0
    best = min(f.aic for f in result.severity_fits)
    out = [
        "## Severity",
        "",
        (f"Reporting threshold {t:,.0f} {cur} (given with the data): truncated and spliced "
         "candidates condition on claims at or above it, and their mean is that of a "
         "reported claim." if t > 0 else
         "No reporting threshold was given with these claims: the fits start at 0."),
        f"Choice rule: {severity.CHOICE_RULE}. The KS p-values use parameters fitted on the "
        "same claims, so they are optimistic.",
        "",
        _table(["candidate", "parameters", "k", "log-likelihood", "AIC", "delta AIC",
                "KS statistic", "KS p-value", "mean", "99.5% quantile", "chosen"],
               [[f.label, _params(f.params) + (" (at a bound)" if f.at_bound else ""),
                 str(f.n_params), f"{f.loglik:,.2f}", f"{f.aic:,.2f}", f"{f.aic - best:,.2f}",
                 f"{f.ks_statistic:.4f}", f"{f.ks_pvalue:.3g}", _money(f.mean),
                 _money(f.quantile(0.995)), "yes" if f is chosen else ""]
                for f in result.severity_fits]),
        "",
        f"Expected severity (mean of the chosen {chosen.label}): **{chosen.mean:,.2f} {cur}**; "
        f"99% quantile {_money(chosen.quantile(0.99))}, 99.5% quantile "
        f"{_money(chosen.quantile(0.995))}; empirical mean {amounts.mean():,.2f}, median "
        f"{np.median(amounts):,.2f}, max {amounts.max():,.2f}.",
        "",
        *report_tables.mean_check(result.severity_fits, chosen, amounts,
                                  premiums.severity_parts(chosen), result.mean_check, cur),
        *report_tables.point_masses(chosen, amounts, cur),
    ]
    spliced = chosen if chosen.tail is not None else next(
        (f for f in result.severity_fits if f.threshold_choice), None)
    if spliced is not None and spliced.tail is not None:
        out += _tail_section(spliced, cur)
    out += _posterior_section(result.posterior, cur)
    out += [f"![{name}]({name})" for name in result.plots]
    return out


def _tail_section(fit: severity.SeverityFit, cur: str) -> list[str]:
    ch, tail, sp = fit.threshold_choice, fit.tail, fit.model.splice
    assert ch is not None and tail is not None and sp is not None
    return [
        f"### Tail of {fit.label}: generalized Pareto above the splice threshold",
        "",
        f"Threshold rule: {splice.THRESHOLD_RULE}. Chosen u = **{ch.chosen.threshold:,.0f} "
        f"{cur}**, {tail.n} claims above it (tail probability {float(sp.tail_probability):.4f}).",
        "",
        _table(["GPD parameter", "estimate", "standard error (observed information)"],
               [["shape xi", f"{tail.shape:.4f}", f"{tail.shape_se:.4f}"],
                [f"scale sigma ({cur})", f"{tail.scale:,.0f}", f"{tail.scale_se:,.0f}"]]),
        "",
        _table(["candidate u", "claims above", "shape xi", "SE", "mean excess"],
               [[f"{c.threshold:,.0f}", str(c.tail.n), f"{c.tail.shape:.4f}",
                 f"{c.tail.shape_se:.4f}", f"{c.mean_excess:,.0f}"] for c in ch.candidates]),
        "",
    ]


def _posterior_section(post: uncertainty.Posterior | None, cur: str) -> list[str]:
    if post is None:
        return []
    lik_mean, lik_sd = post.lik_mean_sd()
    abc_mean, abc_sd = post.abc_draws.mean(axis=0), post.abc_draws.std(axis=0)
    ci = post.intervals()
    pct = f"{uncertainty.CREDIBLE:.0%}"
    return [
        "### Parameter uncertainty",
        "",
        f"ABC: {post.samples:,} prior draws (flat within +-{uncertainty.PRIOR_WIDTH} "
        f"likelihood standard errors of the MLE on theta), {len(post.abc_raw):,} accepted "
        f"(distance <= {post.tolerance:.3f}), "
        "rejection then linear regression adjustment. Summary statistics: "
        + "; ".join(uncertainty.SUMMARIES if post.fitted.splice else uncertainty.SUMMARIES[:3])
        + ". Checked against the likelihood posterior under the same prior (importance "
        f"sampling from the Laplace approximation; effective sample size {post.lik_ess:,.0f}).",
        "",
        _table(["theta", "MLE", "Laplace SE", "likelihood mean", "likelihood sd", "ABC mean",
                "ABC sd"],
               [[n, f"{post.laplace_mean[i]:.4f}", f"{np.sqrt(post.laplace_cov[i, i]):.4f}",
                 f"{lik_mean[i]:.4f}", f"{lik_sd[i]:.4f}", f"{abc_mean[i]:.4f}",
                 f"{abc_sd[i]:.4f}"] for i, n in enumerate(post.names)]),
        "",
        _table(["posterior", f"mean severity ({cur}): median [{pct} interval]",
                f"99.5% quantile ({cur}): median [{pct} interval]"],
               [[m, f"{_money(v['mean'][1])} [{_money(v['mean'][0])}, {_money(v['mean'][2])}]",
                 f"{_money(v['q99.5'][1])} [{_money(v['q99.5'][0])}, "
                 f"{_money(v['q99.5'][2])}]"] for m, v in ci.items()]),
        "",
    ]


def render(result: TrainingResult, tm: TrainedModel, onnx_sha256: str) -> str:
    d = result.data
    out: list[str] = [
        f"# Training report: {tm.model_type}",
        "",
        f"- Artifact: `model.onnx`, sha256 `{onnx_sha256}`",
        f"- Feature schema version {features.FEATURE_SCHEMA_VERSION}, "
        f"{features.N_FEATURES} features; seed {result.seed}",
        f"- Training data sha256 `{d.data_sha256}`",
        "",
        *_data_section(result),
        "", *_severity_section(result), "",
        *_frequency_section(tm),
        *_pricing_section(result, tm),
    ]
    return "\n".join(out)


def _data_section(result: TrainingResult) -> list[str]:
    d, cfg = result.data, result.data.pricing
    out: list[str] = [
        "## Data",
        "",
        _table(["role", "file", "sha256"],
               [[role, f"`{p.name}`", f"`{d.file_sha256[p.name][:16]}...`"]
                for role, p in (("policies", d.sources.policies), ("claims", d.sources.claims),
                                ("CPI", d.sources.cpi)) if p is not None]),
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
    out += ["", (
        f"Claims: {len(d.claims):,}, amounts in {cfg.currency}, indexed to {ix.base_year} "
        f"prices with `{ix.source}` (missing-index policy: {ix.policy}). Factor by accident "
        "year: " + ", ".join(f"{y}: {f:.4f} ({ix.claims_by_year[y]})"
                             for y, f in ix.factor_by_year.items()) + "."
        if ix.factor_by_year else
        f"Claims: {len(d.claims):,}, amounts in {cfg.currency}, not indexed ({ix.policy}).")]
    if ix.substituted:
        out.append("Years without an index, given the nearest year's: "
                   + ", ".join(f"{a} -> {b}" for a, b in ix.substituted.items()) + ".")
    return out


def _frequency_section(tm: TrainedModel) -> list[str]:
    m = tm.metrics
    out: list[str] = [
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
    return out


def _pricing_section(result: TrainingResult, tm: TrainedModel) -> list[str]:
    d, cfg, chosen, m = result.data, result.data.pricing, result.chosen, tm.metrics
    freq = frequency.predict(tm.model, d.x)
    premium = cfg.premium(freq, premiums.severity_parts(chosen).total)
    qs = [1, 5, 25, 50, 75, 95, 99]
    parity = m["onnx_parity"]
    out = [
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
        *report_tables.premium_distribution(m["premium_distribution"], cfg.currency),
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
    return out
