"""The router as a server object: what it owns, how it starts and stops, when it is ready.

``Router`` owns the running traffic policy (PolicyStore) and its sources (the policy
file, polled; the ConfigMap, watched in a cluster), the upstream clients and their
health poller, shadow's workers, the quote ledger, admission control, and the quote
path (QuoteService). app.py mounts its routes and runs ``start``/``stop`` as the app's
lifespan; a test builds one from fakes (``Router(settings, store, upstreams, ...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from quoteflow import metrics, products
from quoteflow.ledger.settings import make_store
from quoteflow.ledger.store import LedgerStore
from quoteflow.router import tariff_step
from quoteflow.router.admission import Admission
from quoteflow.router.ledgering import QuoteLedger
from quoteflow.router.quotes import QuoteService
from quoteflow.router.settings import Settings
from quoteflow.router.shadow import ShadowComparer
from quoteflow.router.upstream import Upstreams
from quoteflow.traffic.document import PolicyFile, load_policy_file
from quoteflow.traffic.policy import COLORS, PolicyState, PolicyStore

if TYPE_CHECKING:  # the kubernetes client is imported only where a ConfigMap is watched
    from quoteflow.traffic.configmap import ConfigMapWatcher

log = logging.getLogger(__name__)


def export_policy(state: PolicyState) -> None:
    """The running policy as gauges, and a log line naming it."""
    metrics.TRAFFIC_GREEN_WEIGHT.set(state.policy.green_weight)
    metrics.TRAFFIC_SHADOW_ENABLED.set(1 if state.policy.shadow.enabled else 0)
    metrics.TRAFFIC_SHADOW_SAMPLE.set(state.policy.shadow.sample)
    metrics.POLICY_GENERATION.set(state.generation)
    tariff_step.export(state.policy)
    log.info("traffic policy applied", extra={"generation": state.generation,
                                              "source": state.source,
                                              "policy": state.policy.document()})


class Router:
    def __init__(self, settings: Settings, store: PolicyStore, upstreams: Upstreams,
                 ledger_store: LedgerStore | None = None) -> None:
        """``ledger_store``: not yet opened (``start`` opens it); None: nothing recorded."""
        self.settings = settings
        self.product = products.get(settings.product)
        self.store = store
        store.subscribe(export_policy)
        self.upstreams = upstreams
        self.shadow = ShadowComparer(upstreams, self.product, settings.shadow_queue,
                                     settings.shadow_concurrency, settings.shadow_timeout,
                                     settings.shadow_max_per_second)
        self.ledger_store = ledger_store
        self.ledger = (QuoteLedger(ledger_store, self.product, settings.instance)
                       if ledger_store is not None else None)
        self.quotes = QuoteService(settings, self.product, store, upstreams, self.shadow,
                                   self.ledger)
        self.policy_file = PolicyFile(settings.policy_file, store, settings.policy_poll_interval)
        self.admission = Admission(settings.admission_max_in_flight,
                                   settings.admission_max_loop_lag, settings.admission_lag_window,
                                   retry_after_s=settings.admission_retry_after)
        metrics.QUOTES_IN_FLIGHT.set_function(lambda: self.admission.in_flight)
        metrics.EVENT_LOOP_LAG.set_function(lambda: self.admission.lag)
        self._tasks: list[asyncio.Task[None]] = []
        self._watcher: ConfigMapWatcher | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Router:
        # An invalid or missing policy at start is fatal: never serve on a guess.
        model = settings.model_name or settings.product
        store = PolicyStore(load_policy_file(settings.policy_file, model),
                            str(settings.policy_file), model)
        upstreams = Upstreams(settings.preprocess_url,
                              {"blue": settings.blue_url, "green": settings.green_url}, store,
                              settings.pool_size, settings.health_interval)
        # a product whose answers carry an id (motor's quote_id) is priced: record them
        priced = products.get(settings.product).answer_id_field is not None
        ledger_store = (make_store(settings.ledger) if settings.ledger_enabled and priced
                        else None)
        return cls(settings, store, upstreams, ledger_store)

    @property
    def writable(self) -> bool:
        """The admin API may change the policy (local mode); a ConfigMap is changed there."""
        return not self.settings.k8s_configmap

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.ledger_store is not None:  # migrations run here; unreachable: no start
            await self.ledger_store.open()
            log.info("quote ledger open", extra={"store": self.ledger_store.kind,
                                                 **await self.ledger_store.durability()})
        await self.upstreams.start()
        # Re-check upstream versions as soon as a policy changes which version a color
        # must serve; policies may arrive on the ConfigMap watcher's thread.
        def recheck(_state: PolicyState) -> None:
            loop.call_soon_threadsafe(lambda: loop.create_task(self.upstreams.check_all()))

        self.store.subscribe(recheck)
        self.shadow.start()
        self._tasks = [asyncio.create_task(self.policy_file.run()),
                       asyncio.create_task(self.admission.watch())]
        if self.settings.k8s_configmap:
            from quoteflow.traffic.configmap import ConfigMapWatcher

            self._watcher = ConfigMapWatcher(self.store, self.settings.k8s_namespace,
                                             self.settings.k8s_configmap, self.settings.k8s_key)
            self._watcher.start()

    async def stop(self) -> None:
        """After the drain (serving.py): sources, then workers, then the ledger last, so
        the last quotes' commits are waited for."""
        if self._watcher is not None:
            self._watcher.stop()
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await self.shadow.stop()
        await self.upstreams.stop()
        if self.ledger_store is not None:
            await self.ledger_store.close()

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready when preprocess is and at least one color can serve."""
        h = self.upstreams.health
        ok = h["preprocess"].ready and any(self.upstreams.usable(c) for c in COLORS)
        return ok, {"generation": self.store.generation,
                    "upstreams": {k: v.detail for k, v in h.items()}}

    def status(self) -> dict[str, Any]:
        """What GET /admin/traffic adds to the policy: upstreams, shadow, the file."""
        return {"upstreams": {k: {"ready": v.ready, "version": v.version, "detail": v.detail}
                              for k, v in self.upstreams.health.items()},
                "shadow_queue": self.shadow.queue.qsize(),
                "policy_file_error": self.policy_file.last_error,
                "writable": self.writable}
