"""Traffic policy validation, generations, the kill switch, sticky assignment."""

from __future__ import annotations

import pytest

from quoteflow.traffic.document import apply_text
from quoteflow.traffic.policy import (
    N_BUCKETS,
    PolicyError,
    PolicyStore,
    assign,
    bucket_of,
    parse_policy,
)

DOC = "blue: {version: 3}\ngreen: {version: '4'}\ngreen_weight: 10\nshadow: {enabled: true}\n"


def test_valid_policy_parses_with_versions_as_text() -> None:
    p = parse_policy(DOC, "test")
    assert p.version_of("blue") == "3" and p.version_of("green") == "4"
    assert p.green_buckets == 1000 and p.shadow.sample == 1.0


@pytest.mark.parametrize(("text", "needle"), [
    ("blue: {version: '1'}\ngreen_weight: 101\ngreen: {version: '2'}", "green_weight"),
    ("blue: {version: '1'}\ngreen_weight: -1\ngreen: {version: '2'}", "green_weight"),
    ("blue: {version: '1'}\ncolour: red", "colour"),
    ("blue: {version: '1', replicas: 2}", "blue.replicas"),
    ("green: {version: '2'}", "blue"),
    ("blue: {version: '1'}\ngreen_weight: 5", "needs a green model"),
    ("blue: {version: '1'}\nshadow: {enabled: true}", "shadow needs a green"),
    ("blue: {version: '1'}\nshadow: {sample: 2}", "shadow.sample"),
    ("- just\n- a list", "mapping"),
    ("blue: [unclosed", "not valid YAML"),
])
def test_invalid_policy_is_refused_naming_the_problem(text: str, needle: str) -> None:
    with pytest.raises(PolicyError, match=needle.replace(".", r"\.")):
        parse_policy(text, "policy.yaml")


def test_store_keeps_running_policy_when_a_document_is_refused() -> None:
    store = PolicyStore(parse_policy(DOC, "a"), "a")
    with pytest.raises(PolicyError):
        apply_text(store, "blue: {version: '1'}\ngreen_weight: 500", "b")
    assert store.generation == 1 and store.policy.green_weight == 10


def test_generations_increase_and_a_replayed_document_is_not_a_change() -> None:
    store = PolicyStore(parse_policy(DOC, "a"), "a")
    killed = store.apply(store.policy.killed(), "kill")
    assert killed.generation == 2 and killed.policy.green_weight == 0
    assert not killed.policy.shadow.enabled
    assert store.apply(killed.policy, "replay").generation == 2
    assert apply_text(store, DOC + "generation: 10\n", "tool").generation == 10


def test_assignment_is_sticky_monotone_and_matches_the_weight() -> None:
    keys = [f"customer-{i}" for i in range(10_000)]
    assert [bucket_of(k) for k in keys[:5]] == [bucket_of(k) for k in keys[:5]]
    assert all(0 <= bucket_of(k) < N_BUCKETS for k in keys)
    previous: set[str] = set()
    for weight in (0, 1, 5, 25, 50, 100):
        policy = parse_policy({"blue": {"version": "1"}, "green": {"version": "2"},
                               "green_weight": weight}, "t")
        green = {k for k in keys if assign(k, policy) == "green"}
        assert previous <= green  # raising the share only moves Blue keys
        sd = (10_000 * weight / 100 * (1 - weight / 100)) ** 0.5
        assert abs(len(green) - 100 * weight) <= 5 * sd + 1
        previous = green
    assert len(previous) == 10_000


def test_changes_are_methods_that_validate_and_leave_the_generation_to_the_writer() -> None:
    p = parse_policy(DOC + "generation: 7\n", "t")
    set30 = p.with_traffic(green_weight=30, source="traffic set")
    assert set30.green_weight == 30 and set30.shadow == p.shadow and set30.generation is None
    off = p.with_traffic(shadow=False, source="traffic shadow")
    assert not off.shadow.enabled and off.shadow.sample == 1.0 and off.green_weight == 10
    half = p.with_traffic(shadow=True, sample=0.5)
    assert half.shadow.enabled and half.shadow.sample == 0.5
    step = p.with_traffic(green_weight=5, shadow=True, source="rollout")
    assert (step.green_weight, step.shadow.enabled) == (5, True)
    with pytest.raises(PolicyError, match=r"^traffic set: .*green_weight"):
        p.with_traffic(green_weight=101, source="traffic set")
    with pytest.raises(PolicyError, match="needs a green model"):
        parse_policy("blue: {version: '1'}\n", "t").with_traffic(green_weight=1)


def test_the_kill_switch_keeps_the_models_and_the_sample() -> None:
    p = parse_policy(DOC.replace("{enabled: true}", "{enabled: true, sample: 0.3}")
                     + "generation: 4\n", "t")
    k = p.killed()
    assert (k.green_weight, k.shadow.enabled, k.shadow.sample) == (0, False, 0.3)
    assert k.version_of("blue") == "3" and k.version_of("green") == "4"
    assert k.generation is None
    assert parse_policy("blue: {version: '1'}\n", "t").killed().green_weight == 0
