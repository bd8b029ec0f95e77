"""The ConfigMap source (the router's watch) against a stand-in Kubernetes API server.

No real cluster ran: tests/standin_k8s.py is an HTTP server on 127.0.0.1 that
speaks the API server's list/watch protocol for ConfigMaps (chunked JSON event
lines, resourceVersion, a 410 Status for an expired resourceVersion, streams that
end or drop). The watcher talks to it through the official ``kubernetes`` client,
the same code path as in a pod, with only the API server replaced.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s_client

from quoteflow.traffic.configmap import ConfigMapWatcher
from quoteflow.traffic.policy import Policy, PolicyError, PolicyState, parse_policy
from tests.standin_k8s import StandInAPI

NS, NAME = "quoteflow", "quoteflow-policy"


def doc(weight: int, shadow: bool = False) -> str:
    return (f'blue: {{version: "1"}}\ngreen: {{version: "2"}}\ngreen_weight: {weight}\n'
            f"shadow: {{enabled: {str(shadow).lower()}, sample: 1.0}}\n")


class FakeStore:
    """Duck-typed PolicyStore: records what the watcher applied, counts generations (the
    watcher validates with the real parser before it applies)."""

    model = "motor"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.applied: list[tuple[Policy, str]] = []
        self.generation = 0

    def apply(self, policy: Policy, source: str) -> PolicyState:
        with self.lock:
            self.generation += 1
            self.applied.append((policy, source))
            return PolicyState(model=self.model, policy=policy, generation=self.generation,
                               source=source, loaded_at="")

    def weights(self) -> list[float]:
        with self.lock:
            return [p.green_weight for p, _ in self.applied]


@pytest.fixture
def api() -> Iterator[StandInAPI]:
    with StandInAPI() as server:
        server.put(NS, NAME, {"policy.yaml": doc(0)})
        server.put(NS, "unrelated", {"policy.yaml": doc(77)})  # the field selector skips it
        yield server


def make_watcher(api: StandInAPI, store: FakeStore, **kw: float) -> ConfigMapWatcher:
    client = k8s_client.ApiClient(k8s_client.Configuration(host=api.url))
    return ConfigMapWatcher(store, NS, NAME, api_client=client, backoff_initial=0.05,
                            backoff_max=0.2, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def watcher(api: StandInAPI, store: FakeStore) -> Iterator[ConfigMapWatcher]:
    w = make_watcher(api, store)
    w.start()
    assert api.wait_for(lambda: store.weights() == [0] and api.watch_count() == 1)
    yield w
    w.stop()
    assert not w.running


def test_lists_then_watches_one_configmap(api: StandInAPI, store: FakeStore,
                                          watcher: ConfigMapWatcher) -> None:
    first_list, first_watch = api.requests[0], api.requests[1]
    assert first_list["query"]["fieldSelector"] == f"metadata.name={NAME}"
    assert not first_list["watch"]
    # the watch starts at the list's resourceVersion: nothing between the two is lost
    assert first_watch["watch"]
    assert first_watch["query"]["resourceVersion"] == "102"  # base 100 + the two puts
    assert store.applied[0][1] == f"configmap/{NS}/{NAME}#policy.yaml"


def test_a_change_reaches_the_store_within_a_second(api: StandInAPI, store: FakeStore,
                                                    watcher: ConfigMapWatcher) -> None:
    began = time.monotonic()
    api.put(NS, NAME, {"policy.yaml": doc(0)})  # the kill switch
    api.put(NS, NAME, {"policy.yaml": doc(25)})
    assert api.wait_for(lambda: store.weights() == [0, 25], timeout=1.0)
    assert time.monotonic() - began < 1.0
    api.put(NS, "unrelated", {"policy.yaml": doc(99)})
    time.sleep(0.2)
    assert store.weights() == [0, 25]  # other ConfigMaps never reach the store


def test_refused_document_is_logged_and_the_watch_goes_on(
        api: StandInAPI, store: FakeStore, watcher: ConfigMapWatcher,
        caplog: pytest.LogCaptureFixture) -> None:
    api.put(NS, NAME, {"policy.yaml": doc(0) + "surprise: true\n"})
    assert api.wait_for(lambda: watcher.last_error is not None)
    assert "surprise" in (watcher.last_error or "")
    assert "traffic policy refused" in caplog.text
    with pytest.raises(PolicyError):  # the store really refused it: it never swapped
        parse_policy(doc(0) + "surprise: true\n", "x")
    assert store.weights() == [0]
    api.put(NS, NAME, {"policy.yaml": doc(40)})
    assert api.wait_for(lambda: store.weights() == [0, 40])
    assert watcher.running and watcher.last_error is None


def test_reconnects_after_the_stream_drops(api: StandInAPI, store: FakeStore,
                                           watcher: ConfigMapWatcher) -> None:
    api.drop_watches()
    assert api.wait_for(lambda: api.watch_count() >= 2)
    # resumed from the last resourceVersion seen, with no new list
    assert api.list_count() == 1
    resumed = [r for r in api.requests if r["watch"]][-1]
    assert resumed["query"]["resourceVersion"] == watcher.resource_version
    api.put(NS, NAME, {"policy.yaml": doc(10)})
    assert api.wait_for(lambda: store.weights() == [0, 10])


def test_change_made_while_disconnected_is_not_lost(api: StandInAPI, store: FakeStore,
                                                    watcher: ConfigMapWatcher) -> None:
    # cut the stream and change the policy before the watcher reconnects: the watch
    # resumes from its resourceVersion and the server replays what it missed
    api.drop_watches()
    api.put(NS, NAME, {"policy.yaml": doc(60)})
    assert api.wait_for(lambda: store.weights() == [0, 60])


def test_expired_resource_version_relists(api: StandInAPI, store: FakeStore,
                                          watcher: ConfigMapWatcher) -> None:
    # While disconnected, the policy changes and the history is compacted: the resumed
    # watch gets a 410 Expired ERROR event, so the watcher must list again.
    api.drop_watches()
    api.put(NS, NAME, {"policy.yaml": doc(30)})
    api.compact()
    assert api.wait_for(lambda: api.list_count() == 2)
    assert api.wait_for(lambda: store.weights() == [0, 30])
    api.put(NS, NAME, {"policy.yaml": doc(35)})
    assert api.wait_for(lambda: store.weights() == [0, 30, 35])


def test_compaction_under_an_open_watch_relists(api: StandInAPI, store: FakeStore,
                                                watcher: ConfigMapWatcher) -> None:
    # an idle watch whose resourceVersion is compacted away gets a 410 mid-stream
    api.put(NS, "unrelated", {"policy.yaml": doc(1)})
    api.compact()
    assert api.wait_for(lambda: api.list_count() == 2)
    assert store.weights() == [0]  # the relist returned the same document: not re-applied
    api.put(NS, NAME, {"policy.yaml": doc(5)})
    assert api.wait_for(lambda: store.weights() == [0, 5])


def test_server_side_timeout_rewatches_without_listing(api: StandInAPI,
                                                        store: FakeStore) -> None:
    w = make_watcher(api, store, watch_timeout_seconds=1)
    w.start()
    try:
        assert api.wait_for(lambda: api.watch_count() >= 2, timeout=4)
        assert api.list_count() == 1
        api.put(NS, NAME, {"policy.yaml": doc(15)})
        assert api.wait_for(lambda: store.weights() == [0, 15])
    finally:
        w.stop()


def test_api_server_down_backs_off_and_keeps_running(store: FakeStore) -> None:
    with StandInAPI() as api:
        api.put(NS, NAME, {"policy.yaml": doc(20)})
        url = api.url
    # the server is gone: connection refused, retried with backoff, thread alive
    client = k8s_client.ApiClient(k8s_client.Configuration(host=url))
    w = ConfigMapWatcher(store, NS, NAME, api_client=client,  # type: ignore[arg-type]
                         backoff_initial=0.05, backoff_max=0.2)
    w.start()
    try:
        time.sleep(0.5)
        assert w.running and w.last_error and store.weights() == []
    finally:
        w.stop()
    assert not w.running


def test_deleted_configmap_keeps_the_running_policy(api: StandInAPI, store: FakeStore,
                                                    watcher: ConfigMapWatcher) -> None:
    api.delete(NS, NAME)
    time.sleep(0.2)
    assert watcher.running and store.weights() == [0]
    api.put(NS, NAME, {"policy.yaml": doc(50)})
    assert api.wait_for(lambda: store.weights() == [0, 50])


def test_missing_key_is_refused_not_fatal(api: StandInAPI, store: FakeStore,
                                          watcher: ConfigMapWatcher) -> None:
    api.put(NS, NAME, {"other.yaml": doc(90)})
    assert api.wait_for(lambda: "missing" in (watcher.last_error or ""))
    assert watcher.running and store.weights() == [0]


def test_works_with_the_real_policy_store(api: StandInAPI) -> None:
    from quoteflow.traffic.policy import PolicyStore

    real = PolicyStore(parse_policy(doc(0), "boot"), "boot")
    client = k8s_client.ApiClient(k8s_client.Configuration(host=api.url))
    w = ConfigMapWatcher(real, NS, NAME, api_client=client)
    w.start()
    try:
        api.put(NS, NAME, {"policy.yaml": doc(45, shadow=True)})
        assert api.wait_for(lambda: real.policy.green_weight == 45)
        assert real.policy.shadow.enabled and real.generation >= 2
        assert real.state.source == f"configmap/{NS}/{NAME}#policy.yaml"
    finally:
        w.stop()
