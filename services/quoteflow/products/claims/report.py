"""The training report (Markdown) stored beside each claims artifact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quoteflow.products.claims import reviewed
from quoteflow.products.claims.features import CLASSES, FEATURE_SCHEMA_VERSION, N_FEATURES
from quoteflow.report_format import markdown_table

if TYPE_CHECKING:
    from quoteflow.products.claims.training import Trained


def _per_class(t: dict[str, Any]) -> str:
    return markdown_table(["class", "precision", "recall", "F1", "true rows", "decided"],
                  [[c, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}",
                    f"{m['support']:,}", f"{m['decided']:,}"] for c, m in t["per_class"].items()])


def _comparison(cmp: dict[str, Any], this: str, currency: str) -> str:
    bayes = cmp["bayes_optimal"]
    rows = [["Bayes-optimal (true probabilities)", f"{bayes['expected_cost']:.2f}", "0.0%",
             f"{bayes['fraud_recall']:.3f}", f"{bayes['macro_f1']:.3f}"]]
    rows += [[name + (" (this model)" if name == this else ""),
              f"{c['expected_cost']:.2f}", f"{100 * c['excess_over_bayes']:+.1f}%",
              f"{c['fraud_recall']:.3f}", f"{c['macro_f1']:.3f}"]
             for name, c in cmp["models"].items()]
    rows.append(["pay every claim", f"{cmp['pay_everything_expected_cost']:.2f}", "", "0.000",
                 ""])
    return markdown_table(["rule", f"expected cost ({currency})", "over Bayes", "fraud recall",
                   "macro F1"], rows)


def render(meta: dict[str, Any], tm: Trained, explanation_method: str) -> str:
    m, rule, td = meta["metrics"], meta["decision_rule"], meta["training_data"]
    t, cur = m["test"], rule["currency"]
    costs = rule["costs"]
    weights = ", ".join(f"{c} {w:.3f}" for c, w in zip(CLASSES, rule["class_weights"],
                                                       strict=True))
    return "\n".join([
        f"# Training report: claims triage, {tm.model_type}",
        "",
        f"- Feature schema {FEATURE_SCHEMA_VERSION}, {N_FEATURES} features; seed {meta['seed']}",
        f"- Data: {td['rows']:,} generated claims ({td['source']}, generator version "
        f"{td['generator_version']}, as of {td['as_of']}), sha256 "
        f"`{meta['training_data_sha256']}`",
        f"- Split: {meta['split']['train_rows']:,} train, "
        f"{meta['split']['validation_rows']:,} validation (decision rule), "
        f"{meta['split']['test_rows']:,} test (every figure below)",
        "- Class shares: " + ", ".join(f"{c} {100 * s:.1f}%"
                                       for c, s in td["class_shares"].items()),
        f"- Parameters: {', '.join(f'{k}={v}' for k, v in meta['params'].items())}",
        "",
        "## Cost and the Bayes-optimal limit",
        "",
        f"Expected cost per claim in {cur} on the test rows, computed with the generator's "
        "true class probabilities; the Bayes-optimal rule decides with those probabilities "
        "themselves: no model can do better on average.",
        "",
        _comparison(m["comparison"], tm.model_type, cur),
        "",
        f"Costs ({cur}): " + ", ".join(f"{k.replace('_', ' ')} {v:,.0f}"
                                       for k, v in costs.items()) + ".",
        f"Decision rule: {rule['rule']}; class weights chosen on the {rule['chosen_on']}: "
        f"{weights}.",
        "",
        "## This model on the test rows",
        "",
        _per_class(t),
        "",
        f"Accuracy {t['accuracy']:.3f}, log loss {t['log_loss']:.4f}, realised cost "
        f"{t['realised_cost']:.2f} {cur} a claim (drawn labels).",
        "",
        f"![confusion matrix](confusion_{tm.model_type}.png) "
        f"![calibration](calibration_{tm.model_type}.png)",
        "",
        "## Bayes-optimal rule on the same rows",
        "",
        _per_class(m["bayes_optimal_test"]),
        "",
        "## ONNX",
        "",
        f"Parity on {m['onnx_parity']['rows']:,} test rows: max probability difference "
        f"{m['onnx_parity']['max_probability_difference']:.2e} (tolerance "
        f"{m['onnx_parity']['tolerance']:g}), decisions identical on every row.",
        "",
        f"Reasons given with each decision: {explanation_method}.",
        "",
        *reviewed.report_section(meta, cur),
    ])
