"""What a product is, as the platform sees it.

A product (motor pricing, claim triage) is a package under ``quoteflow.products``
that builds one ``Product``. The platform (preprocess, inference, router, batch,
registry, rollout, ledger) only ever talks to this interface: it never imports a
product module by name. A model version's ``metadata.json`` names its product
(``metadata["product"]``), and inference looks the product up in ``products.get``.

No web framework here, nor in any product module: this is the serving core that
the batch extra alone must be able to import.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, NamedTuple

import numpy as np
from pydantic import BaseModel
from typing_extensions import TypeVar  # a default (PEP 696): Python 3.13's typing has it

if TYPE_CHECKING:
    from quoteflow.registry import ModelVersion

# A product is generic over its live request model and its column batch (what
# ``columns`` builds and ``errors``/``features`` read). The platform holds any product
# as plain ``Product``: both default to Any, as the platform never knows which it has.
RequestT = TypeVar("RequestT", bound=BaseModel, default=Any)
ColumnsT = TypeVar("ColumnsT", default=Any)


@dataclass(frozen=True)
class TensorSpec:
    """One ONNX input or output: name, element type and row width (None: one value a row)."""

    name: str
    dtype: str  # numpy dtype name: "float32", "float64", "int64"
    width: int | None = None


@dataclass(frozen=True)
class ModelIO:
    """The ONNX graph's contract, checked when a model is loaded (inference, batch)."""

    input: TensorSpec
    outputs: tuple[TensorSpec, ...]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]


@dataclass(frozen=True)
class Quoted:
    """What the quote ledger records of one priced answer."""

    premium: Decimal  # exact, already in the currency's unit
    currency: str
    breakdown: dict[str, Any]
    validity_days: float  # from the artifact's metadata (quotes.validity_days)


@dataclass(frozen=True)
class ShadowGate:
    """A rollout gate on one shadow measure (a name in ``shadow_measures``).

    A shadowed answer is *alike* when the measure falls in ``(low, high]`` (``low``
    None: no lower bound); both are bucket boundaries of the measure's histogram, so
    Prometheus counts them exactly. The rollout stops Green when more than
    ``max_share`` of the shadowed answers are not alike.
    """

    measure: str
    low: float | None
    high: float
    max_share: float
    unlike: str  # what an unlike answer did, in words: "moved by more than 10%"


class FieldProblem(NamedTuple):
    """A business-rule violation: row (in the batch), field (as the API names it), message."""

    row: int
    field: str
    message: str


class FastPath(NamedTuple, Generic[ColumnsT]):
    """A product's vectorised reading of a book's chunk (``Product.batch_fast_path``)."""

    plain: np.ndarray  # bool a row: plainly well typed, as the request model would accept it
    # The product's column batch of every row of the chunk (``columns``' type), nothing
    # derived from it yet; a row not plain holds any value: the platform overwrites it.
    columns: ColumnsT


class RowDerivation(NamedTuple):
    """One request's business-rule problems and, only when there are none, its feature
    row: the float32 values of the vectorised row, as Python floats (``.tolist()``)."""

    problems: list[FieldProblem]
    features: list[float] | None


class Product(ABC, Generic[RequestT, ColumnsT]):
    """Everything that is one product's and nothing that is the platform's."""

    name: ClassVar[str]  # the registry's model name and metadata["product"]
    public_path: ClassVar[str]  # the router's public endpoint, e.g. "/v1/quote"
    summary: ClassVar[str]  # one line for the OpenAPI document
    # The request field whose value picks the sticky bucket (a customer, a claim);
    # when absent the answer id (below) is used.
    sticky_field: ClassVar[str]
    # When set, the router generates a fresh uuid hex into this answer field (quote_id).
    answer_id_field: ClassVar[str | None] = None
    # Request facts (from ``context``) the public answer repeats, e.g. the claim reference
    echoed_fields: ClassVar[tuple[str, ...]] = ()
    # the live request contract (a class attribute; ClassVar cannot hold a type variable)
    request_model: type[RequestT]
    response_model: ClassVar[type[BaseModel]]  # the public answer (documentation)
    prediction_model: ClassVar[type[BaseModel]]  # one row of inference's answer
    feature_schema_version: ClassVar[str]
    feature_names: ClassVar[tuple[str, ...]]
    raw_features: ClassVar[tuple[str, ...]]  # leading feature columns, watched for drift
    model_io: ClassVar[ModelIO]
    # Names of what ``compare`` measures between the primary and the shadow answer.
    shadow_measures: ClassVar[tuple[str, ...]]
    # The rollout gates on those measures (the first one is the headline gate, whose
    # max share `quoteflow rollout start --divergence` overrides).
    shadow_gates: ClassVar[tuple[ShadowGate, ...]]
    # The batch output column that a scoring run summarises (mean, plot) and compares
    # with another version (``compare_<headline>``).
    headline_column: ClassVar[str]
    # Its histogram bins in a scoring run's plot: (low, high, bins, log-spaced);
    # values outside land in the end bins.
    headline_bins: ClassVar[tuple[float, float, int, bool]]
    # metadata.json keys this product's shaping reads, checked when a model is loaded
    required_metadata: ClassVar[tuple[str, ...]] = ()
    # The module with this product's own `quoteflow train` options (training/cli.py
    # says what it holds); None: the shared options are all it takes.
    training_cli: ClassVar[str | None] = None

    # --- the one feature derivation (training, live, batch) ------------------------
    @abstractmethod
    def columns(self, requests: Sequence[RequestT], today: dt.date) -> ColumnsT:
        """Validated requests to the product's column batch (vectorised derivation input):
        a dataclass of numpy arrays, one a request field, with ``subset(rows)``; ``today``
        stands for an absent optional date."""

    @abstractmethod
    def errors(self, columns: ColumnsT, today: dt.date) -> list[FieldProblem]:
        """Every business-rule violation, the same messages live and in batch."""

    @abstractmethod
    def features(self, columns: ColumnsT) -> np.ndarray:
        """Model input, float32 (n, len(feature_names)), for rows without errors."""

    def derive_one(self, request: RequestT, today: dt.date) -> RowDerivation:
        """``errors`` and ``features`` of one request: the live path's question. This
        default asks the vectorised derivation on a one-row batch; a product may answer
        faster in plain Python, provided it is proved to give the same problems and bits."""
        cols = self.columns([request], today)
        if problems := self.errors(cols, today):
            return RowDerivation(problems, None)
        return RowDerivation([], self.features(cols)[0].tolist())

    @abstractmethod
    def context(self, request: RequestT, today: dt.date) -> dict[str, Any]:
        """Request facts the router echoes or records (customer key, quote date...).
        ``cover_start`` (ISO date, or instant with its zone), when the product has cover
        dates: the router prices the quote with the tariff in effect then
        (traffic.tariffs); being context, it also keys a re-quote."""

    @abstractmethod
    def reference_edges(self) -> dict[str, list[float]]:
        """Fixed histogram edges per raw feature, for drift (PSI)."""

    # --- the model's answer -----------------------------------------------------------
    @abstractmethod
    def shape(self, outputs: dict[str, np.ndarray], x: np.ndarray,
              metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Graph outputs (each flattened per row, as ModelIO names them) to one
        prediction dict a row: what inference answers and the router passes on."""

    def headline_label(self, metadata: dict[str, Any]) -> str:
        """Axis label of the headline column in a scoring run's plot."""
        return self.headline_column

    def answer_extras(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Batch-level fields of inference's answer besides model and predictions."""
        return {}

    def quoted(self, prediction: dict[str, Any], answer: dict[str, Any]) -> Quoted | None:
        """The price the ledger records for one row of inference's ``answer``; None for a
        product whose answers are decisions, not prices (nothing to honour or bind)."""
        return None

    # --- renewals and guardrails (a priced product) ------------------------------------
    # The request field naming a bound answer a request renews (motor: ``renews``);
    # None: the product has no renewals.
    renewal_field: ClassVar[str | None] = None
    # Every guardrail rule a prediction may state it fired: the bounded label values of
    # the router's rule-hit counter.
    guardrail_rules: ClassVar[tuple[str, ...]] = ()

    def renew(self, prediction: dict[str, Any], prior: Decimal,
              answer: dict[str, Any]) -> dict[str, Any]:
        """The new-business ``prediction`` made the renewal of a bound ``prior`` price,
        by the rules ``answer_extras`` stated (the artifact's); renewals only."""
        raise NotImplementedError(f"product {self.name} has no renewals")

    def rules_fired(self, prediction: dict[str, Any]) -> list[str]:
        """The guardrail rules that moved this prediction's price (in guardrail_rules)."""
        return []

    @abstractmethod
    def check_warm_up(self, outputs: dict[str, np.ndarray]) -> str | None:
        """None if a batch's outputs are sane, else why not: checked on the warm-up batch
        at load, and on every request's outputs (features far outside anything seen in
        training can overflow a model)."""

    @abstractmethod
    def compare(self, primary: dict[str, Any], shadow: dict[str, Any]) -> dict[str, float]:
        """Shadow measures (keys: shadow_measures) between Blue's and Green's prediction."""

    # --- batch scoring ------------------------------------------------------------------
    def batch_fast_path(self, chunk: Any, csv: bool,
                        default_date: dt.date) -> FastPath[ColumnsT] | None:
        """Optional: a book's chunk (a pyarrow RecordBatch of request rows) read at once.

        The platform judges each row as the live API would (batch/judged.py): through
        ``request_model``, one row at a time. A product with books of millions of rows
        may recognise the plainly well-typed ones vectorised; only the others then go
        through the model. A row marked plain must be one the model accepts, with the
        values ``columns`` would give it. None (the default): every row goes through it.
        """
        return None

    @abstractmethod
    def batch_columns(self, columns: ColumnsT, outputs: dict[str, np.ndarray], x: np.ndarray,
                      metadata: dict[str, Any]) -> dict[str, Any]:
        """Output columns of a scored chunk's priced rows (numpy or pyarrow arrays), in
        order; ``columns`` is the judged chunk's column batch. The platform adds the row
        number, the carried id and the model's name, version and sha256."""

    # --- tariff governance ----------------------------------------------------------
    def segments(self, book: Any, quote_dates: Any) -> dict[str, np.ndarray]:
        """Each book row's level of every rating factor, as text: the segments of a
        dislocation review. ``book``: the rows' request fields; none by default."""
        return {}

    def dislocation_limits(self, metadata: dict[str, Any]) -> dict[str, float]:
        """The largest shares of a book a new version may move before its rollout needs
        an explicit acceptance (keys as ``dislocation.review``'s shares: ``over_10``,
        ``up_25``, ...), from the new version's metadata; none by default."""
        return {}

    def plain_graph(self, onnx_bytes: bytes) -> bytes | None:
        """The artifact's graph without its per-quote explanation, so that the bench can
        measure what explaining costs; None: the product's graph explains nothing extra."""
        return None

    # --- examples -------------------------------------------------------------------
    @abstractmethod
    def example_requests(self, n: int, seed: int) -> list[dict[str, Any]]:
        """``n`` request bodies (JSON values) as clients send them, seeded, valid today
        (UTC): what the benchmark sends. A sticky key may repeat, as a returning client's."""

    # --- training -------------------------------------------------------------------
    @abstractmethod
    def train_and_register(self, registry_dir: Path | str,
                           **options: Any) -> list[ModelVersion]:
        """Train the product's example models and register them (imports training deps)."""

    # --- rollout outcome gate ---------------------------------------------------------
    # the business outcome a live rollout step is judged on (control/outcome_gates.py):
    # "conversion" (binds per quote, from the ledger), "reviewers" (reviewer decisions,
    # from the desk), or None
    outcome_gate: ClassVar[str | None] = None
