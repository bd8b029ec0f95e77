"""Claim triage's training: generated claims to registered, cost-sensitive ONNX classifiers.

Two families are fitted on the train part of a fixed seeded split of generated claims
(generator.py): a logistic regression (standardised inputs) and gradient-boosted trees.
Each gets its decision rule (class weights, decision.py) chosen on the validation part;
everything in its report is measured on the test part, beside the Bayes-optimal rule
computed from the generator's true probabilities on the same rows. Imports scikit-learn,
skl2onnx and matplotlib: the training extra only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from quoteflow.cli_options import default_actor
from quoteflow.products.claims import decision, evaluate, explain, generator, model_io, plots
from quoteflow.products.claims import features as F
from quoteflow.products.claims import reviewed as reviewed_mod
from quoteflow.products.claims.decision import ClaimsConfig
from quoteflow.products.claims.labels import load as load_labels

ModelType = Literal["logistic_regression", "hist_gradient_boosting"]
MODEL_TYPES: tuple[ModelType, ...] = ("logistic_regression", "hist_gradient_boosting")
DEFAULT_SEED = 42
DEFAULT_NAME = "claims"
PARITY_TOLERANCE = 1e-5
Progress = Callable[[str], None]


class ParityError(RuntimeError):
    """The ONNX graph does not reproduce scikit-learn; nothing is registered."""


@dataclass
class Prepared:
    config: ClaimsConfig
    sample: generator.ClaimsSample
    x: np.ndarray
    y: np.ndarray
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    seed: int
    reviewed: reviewed_mod.Reviewed | None = None  # --labels: the desk's reviewed claims


@dataclass
class Trained:
    model_type: ModelType
    model: Any
    params: dict[str, Any]
    weights: np.ndarray
    onnx_bytes: bytes
    test: dict[str, Any]  # evaluate.figures on the test rows
    parity: dict[str, Any]
    explanation: dict[str, Any]
    plots: dict[str, bytes] = field(default_factory=dict)
    reviewed: dict[str, Any] | None = None  # reviewed.judge on the held-out reviewed claims


def prepare(seed: int = DEFAULT_SEED, config: Path | None = None) -> Prepared:
    cfg = ClaimsConfig.load(config)
    sample = generator.generate(cfg.rows, seed)
    cols = sample.columns()
    problems = F.errors(cols, sample.as_of)
    if problems:  # the generator must only make claims the contract accepts
        raise ValueError(f"generated claims break business rules, first: {problems[0]}")
    order = np.random.default_rng(seed).permutation(len(sample))
    n_val, n_test = int(cfg.rows * cfg.validation_fraction), int(cfg.rows * cfg.test_fraction)
    test, val, train = np.split(order, [n_test, n_test + n_val])
    return Prepared(cfg, sample, F.features(cols), sample.labels, np.sort(train),
                    np.sort(val), np.sort(test), seed)


def fit(model_type: ModelType, x: np.ndarray, y: np.ndarray, seed: int,
        sample_weight: np.ndarray | None = None) -> tuple[Any, dict[str, Any]]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if model_type == "logistic_regression":
        params: dict[str, Any] = {"C": 1.0, "max_iter": 2000}
        model = make_pipeline(StandardScaler(), LogisticRegression(**params))
        model.fit(x, y, logisticregression__sample_weight=sample_weight)
    else:
        params = {"max_iter": 150, "learning_rate": 0.08, "max_leaf_nodes": 15,
                  "min_samples_leaf": 40, "l2_regularization": 1.0, "early_stopping": False,
                  "random_state": seed}
        model = HistGradientBoostingClassifier(**params)
        model.fit(x, y, sample_weight=sample_weight)
    return model, {k: v for k, v in params.items() if k != "random_state"}


def parity(model: Any, onnx_bytes: bytes, x: np.ndarray, weights: np.ndarray,
           cost: np.ndarray) -> dict[str, Any]:
    """ONNX vs scikit-learn on every given row: probabilities and decisions.

    A decision that differs on a near tie (decision.near_tie: the two risks equal to
    within the probability tolerance) is counted, not refused: float32 and float64 round
    such a row either way, and both decisions cost the same. Any other difference refuses.
    """
    out = model_io.run(onnx_bytes, x)
    ref = model.predict_proba(x)
    diff = float(np.max(np.abs(out["probabilities"] - ref)))
    mine = decision.decide(ref, cost, weights)
    differs = out["decision"] != mine
    ties = differs & decision.near_tie(ref, cost, weights, mine, out["decision"],
                                       PARITY_TOLERANCE)
    mismatched = int(np.sum(differs & ~ties))
    if diff > PARITY_TOLERANCE or mismatched:
        raise ParityError(f"ONNX and scikit-learn disagree on {len(x)} rows: max probability "
                          f"difference {diff:.2e} (tolerance {PARITY_TOLERANCE}), "
                          f"{mismatched} different decisions beyond a near tie; "
                          "nothing was registered")
    return {"rows": len(x), "max_probability_difference": diff, "decisions_different": 0,
            "decisions_different_at_near_ties": int(np.sum(ties)),
            "tolerance": PARITY_TOLERANCE}


def train_one(model_type: ModelType, data: Prepared, progress: Progress) -> Trained:
    cost = data.config.cost_matrix()
    x, y, p_true = data.x, data.y, data.sample.true_probabilities
    progress(f"fit {model_type}")
    xf, yf, wf = reviewed_mod.fit_rows(x[data.train], y[data.train], data.reviewed)
    model, params = fit(model_type, xf, yf, data.seed, wf)
    weights = decision.choose_weights(model.predict_proba(x[data.validation]),
                                      y[data.validation], cost)
    p_test = model.predict_proba(x[data.test])
    d_test = decision.decide(p_test, cost, weights)
    test = evaluate.figures(y[data.test], d_test, p_test, p_true[data.test], cost)
    progress(f"export {model_type}")
    onnx_bytes = model_io.build(model, weights, cost, doc={
        "feature_schema_version": F.FEATURE_SCHEMA_VERSION, "model_type": model_type,
        "product": "claims"})
    par = parity(model, onnx_bytes, x[data.test], weights, cost)
    tm = Trained(model_type, model, params, weights, onnx_bytes, test, par,
                 explain.tables(model.predict_proba, x[data.train], data.seed))
    tm.plots = {
        f"confusion_{model_type}.png": plots.confusion(test["confusion_matrix"],
                                                       f"{model_type} (test)"),
        f"calibration_{model_type}.png": plots.calibration(p_test, y[data.test],
                                                           f"{model_type} (test)"),
    }
    if data.reviewed is not None:
        tm.reviewed = reviewed_mod.judge(onnx_bytes, data.reviewed, cost)
    return tm


def bayes(data: Prepared) -> tuple[dict[str, Any], float]:
    """The Bayes-optimal rule's test figures, and the cost of paying every claim."""
    cost, p = data.config.cost_matrix(), data.sample.true_probabilities[data.test]
    d = decision.decide(p, cost)
    pay_all = decision.expected_cost(p, np.zeros(len(p), dtype=np.int64), cost)
    return evaluate.figures(data.y[data.test], d, p, p, cost), pay_all


@dataclass
class TrainingResult:
    data: Prepared
    models: list[Trained]
    bayes: dict[str, Any]  # evaluate.figures of the Bayes-optimal rule on the test rows
    comparison: dict[str, Any]


def train(seed: int = DEFAULT_SEED, config: Path | None = None,
          progress: Progress | None = None, labels: Path | None = None,
          reviewed_weight: float | None = None) -> TrainingResult:
    """Generate, fit both families, choose their rules, evaluate; nothing is registered.

    One thread: the same bytes on any machine (a parallel histogram sum may round
    differently), and on a shared 2-core machine OpenMP's spinning threads made the
    gradient boosting 3x slower (24 s against 7 s for the whole run).
    """
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    step = progress or (lambda s: None)
    step("generate claims")
    label_set = load_labels(labels) if labels is not None else None  # a bad file fails first
    data = prepare(seed, config)
    if label_set is not None:
        cfg = data.config
        weight = cfg.reviewed_weight if reviewed_weight is None else reviewed_weight
        if weight <= 0:
            raise ValueError(f"the reviewed claims' weight must be > 0, got {weight}")
        data.reviewed = reviewed_mod.prepare(label_set, weight, cfg.reviewed_holdout)
    with threadpool_limits(limits=1):
        models = [train_one(t, data, step) for t in MODEL_TYPES]
    bayes_figures, pay_all = bayes(data)
    comparison = evaluate.comparison({m.model_type: m.test for m in models}, bayes_figures,
                                     pay_all)
    return TrainingResult(data, models, bayes_figures, comparison)


def register(result: TrainingResult, registry: Any, name: str = DEFAULT_NAME,
             to_staging: bool = False, actor: str | None = None) -> list[Any]:
    """One registry version a model, the logistic regression first."""
    from quoteflow.products.claims import artifact

    versions = []
    data, cost = result.data, result.data.config.cost_matrix()
    # judged before any new version exists: "current" is never one of this run's
    now = (reviewed_mod.current(registry, name, data.reviewed, cost)
           if data.reviewed is not None else None)
    for tm in result.models:
        meta, files = artifact.contents(tm, result.data, result.bayes, result.comparison, now)
        mv = registry.register(name, tm.onnx_bytes, meta, extra_files=files)
        if to_staging:
            registry.move(name, mv.version, "Staging", actor or default_actor(),
                          "trained by quoteflow train")
        versions.append(mv)
    return versions


def train_and_register(registry_dir: Path | str, *, seed: int = DEFAULT_SEED,
                       config: Path | None = None, name: str = DEFAULT_NAME,
                       to_staging: bool = False, actor: str | None = None,
                       mlflow_uri: str | None = None, progress: Progress | None = None,
                       labels: Path | None = None,
                       reviewed_weight: float | None = None) -> list[Any]:
    """Train both families, register one version each, log them to MLflow if asked."""
    from quoteflow.registry import Registry

    step = progress or (lambda s: None)
    result = train(seed, config, step, labels, reviewed_weight)
    step("register")
    versions = register(result, Registry(registry_dir), name, to_staging, actor)
    if mlflow_uri:
        from quoteflow.training import tracking

        step("log to mlflow")
        tracking.log_versions(mlflow_uri, versions)
    return versions
