"""Training runs in MLflow, for any product: read back from what our registry stored.

Each registered version becomes one MLflow run in the experiment ``quoteflow-<product>``:
parameters (model type, seed, schema, data fingerprint, the product's ``params``),
every number under ``metrics`` in its metadata (flattened, dotted keys), and the
version's folder as artifacts (model.onnx, metadata.json, report.md, plots); then an
MLflow model version of the same name pointing at those artifacts, tagged with our
registry version and sha256. Our registry stays the serving source of truth (its
stage moves are audited; MLflow keeps no history of alias moves, mlflow#2169).

mlflow is a training/dev dependency only: it is imported inside ``log_versions``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from quoteflow import products
from quoteflow.registry import ModelVersion

TRACKING_ENV = "MLFLOW_TRACKING_URI"
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")
_PARAM_KEYS = ("product", "model_type", "seed", "feature_schema_version",
               "training_data_sha256")


@dataclass(frozen=True)
class TrackedRun:
    registry_version: str
    run_id: str
    experiment_id: str
    model_version: str  # MLflow's model version number


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, float]]:
    """Numeric leaves (lists by index) as (dotted key, float); booleans and text skipped."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}.{i}")
    elif (isinstance(value, int | float) and not isinstance(value, bool)
          and math.isfinite(value)):
        yield _KEY_BAD.sub("_", prefix)[:250], float(value)


def params_of(metadata: dict[str, Any]) -> dict[str, str]:
    out = {k: str(metadata[k]) for k in _PARAM_KEYS if k in metadata}
    out.setdefault("product", products.of_metadata(metadata).name)
    for k, v in (metadata.get("params") or {}).items():
        out[f"params.{k}"] = str(v)[:6000]
    return out


def _experiment(client: Any, name: str) -> str:
    found = client.get_experiment_by_name(name)
    return str(found.experiment_id if found else client.create_experiment(name))


def _registered_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(
            name, description="quoteflow model; the serving source of truth is quoteflow's "
                              "registry (versions tagged quoteflow.registry_version)")


def log_version(client: Any, mv: ModelVersion) -> TrackedRun:
    from mlflow.entities import Metric, Param

    meta = mv.metadata
    params = params_of(meta)
    tags = {"quoteflow.product": params["product"], "quoteflow.model": mv.name,
            "quoteflow.registry_version": mv.version, "quoteflow.onnx_sha256": mv.sha256}
    exp = _experiment(client, f"quoteflow-{params['product']}")
    run = client.create_run(exp, run_name=f"{mv.name}:{mv.version} "
                                           f"{meta.get('model_type', '')}".strip(), tags=tags)
    rid = run.info.run_id
    ps = [Param(k, v) for k, v in params.items()]
    ms = [Metric(k, v, 0, 0) for k, v in dict(flatten(meta.get("metrics", {}))).items()]
    for i in range(0, max(len(ps), len(ms)), 100):
        client.log_batch(rid, metrics=ms[i:i + 100], params=ps[i:i + 100])
    client.log_artifacts(rid, str(mv.path), artifact_path="model")
    client.set_terminated(rid)
    _registered_model(client, mv.name)
    version = client.create_model_version(mv.name, source=f"{run.info.artifact_uri}/model",
                                          run_id=rid, tags=tags)
    return TrackedRun(mv.version, rid, exp, str(version.version))


class TrackingError(RuntimeError):
    pass


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast (before any training) when an HTTP tracking server does not answer;
    MLflow's own client retries for minutes. Other URIs (file:, sqlite:) are local."""
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout) as r:
            if r.status != 200:
                raise TrackingError(f"MLflow server {uri}: /health answered {r.status}")
    except (urllib.error.URLError, OSError) as e:
        raise TrackingError(f"MLflow server {uri} is not reachable ({e})") from e


def log_versions(uri: str, versions: list[ModelVersion]) -> list[TrackedRun]:
    """One run and one MLflow model version per registered version, at tracking ``uri``."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    return [log_version(client, mv) for mv in versions]
